package domain

import (
	"context"
	"slices"
)

// FinishUploads moves to completed each of the given uploads whose people
// all have an outcome (certified or failed): the list's journey is over.
// Uploads not queued, or with people still waiting, are left as they are.
// Safe to repeat; call it after certifying or failing people.
func FinishUploads(ctx context.Context, s UploadStore, tenant string, uploads []string, cause Cause) error {
	slices.Sort(uploads)
	for _, id := range slices.Compact(uploads) {
		u, err := s.GetUpload(ctx, tenant, id)
		if err != nil {
			return err
		}
		if u.State != UploadQueued {
			continue
		}
		subs, err := s.SubjectsOfUpload(ctx, tenant, id)
		if err != nil {
			return err
		}
		done := len(subs) > 0
		for _, sub := range subs {
			if !sub.State.Terminal() {
				done = false
				break
			}
		}
		if !done {
			continue
		}
		if _, err := s.AdvanceUpload(ctx, tenant, id, UploadCompleted, nil, "", Reason{}, cause); err != nil && ErrorCode(err) != ECONFLICT {
			return err
		}
	}
	return nil
}

// UploadsOf returns the upload ids of subject ids (as made by SubjectID).
func UploadsOf(subjects []string) []string {
	var out []string
	for _, id := range subjects {
		if u, _, err := ParseSubjectID(id); err == nil {
			out = append(out, u)
		}
	}
	return out
}
