package memstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
)

// CreateUpload stores a new upload in state received (see domain.UploadStore).
func (s *Store) CreateUpload(ctx context.Context, u domain.Upload, cause domain.Cause) (domain.Upload, error) {
	if err := firstErr(checkCode("tenant", u.Tenant), checkCode("office", u.Office), checkID("upload", u.ID), checkCause(cause)); err != nil {
		return domain.Upload{}, err
	}
	switch {
	case u.Key == "":
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: a key is required", u.ID)
	case u.SHA256 == "" && u.ObjectVersion != "":
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: an object version without its SHA-256", u.ID)
	case u.SHA256 != "" && !sha256RE.MatchString(u.SHA256):
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: the SHA-256 must be lowercase hex", u.ID)
	}
	if u.Protocol != nil && (!domain.ValidProtocolNumber(u.Protocol.Number) || u.Protocol.Date.IsZero()) {
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: protocol number %q: want 7 or more digits and a date", u.ID, u.Protocol.Number)
	}
	if err := s.lock(ctx); err != nil {
		return domain.Upload{}, err
	}
	defer s.mu.Unlock()
	if cur, ok := s.uploads[k(u.Tenant, u.ID)]; ok {
		if cur.u.Office != u.Office || cur.u.Key != u.Key || (u.SHA256 != "" && cur.u.SHA256 != "" && cur.u.SHA256 != u.SHA256) {
			return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s exists for another object", u.ID)
		}
		switch {
		case u.SHA256 == "":
			// The record made before its object, asked for again: it stands.
		case cur.u.ObjectVersion != "" && cur.u.ObjectVersion != u.ObjectVersion:
			return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s exists for another object version", u.ID)
		default:
			// Recorded before its object existed (by the API or the CLI; a
			// presigned upload without even its SHA-256): now it does.
			if cur.u.ObjectVersion == "" {
				cur.u.ObjectVersion = u.ObjectVersion
			}
			if cur.u.SHA256 == "" {
				cur.u.SHA256 = u.SHA256
			}
		}
		s.fileUploadEvent(cur)
		return copyUpload(cur.u), nil
	}
	now := s.now()
	in := domain.Upload{ID: u.ID, Tenant: u.Tenant, Office: u.Office, Key: u.Key, ObjectVersion: u.ObjectVersion, SHA256: u.SHA256,
		UploadedBy: u.UploadedBy, FileName: u.FileName, State: domain.UploadReceived, CreatedAt: now, UpdatedAt: now, Version: 1}
	if u.Protocol != nil {
		in.Protocol = &domain.Protocol{Number: u.Protocol.Number, Date: u.Protocol.Date}
	}
	rec := &upload{u: in, cause: cause, detail: "list received"}
	s.uploads[k(u.Tenant, u.ID)] = rec
	s.fileUploadEvent(rec)
	return copyUpload(rec.u), nil
}

// fileUploadEvent (re-)files the event of the last change of an upload.
func (s *Store) fileUploadEvent(r *upload) {
	s.fileEvent(domain.Event{Tenant: r.u.Tenant, Subject: r.u.ID, At: r.u.UpdatedAt, State: string(r.u.State), Detail: r.detail, Cause: r.cause})
}

// GetUpload returns an upload by id.
func (s *Store) GetUpload(ctx context.Context, tenant, id string) (domain.Upload, error) {
	if err := s.lock(ctx); err != nil {
		return domain.Upload{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getUpload(tenant, id)
	if err != nil {
		return domain.Upload{}, err
	}
	return copyUpload(r.u), nil
}

func (s *Store) getUpload(tenant, id string) (*upload, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if !domain.ValidID(id) {
		return nil, domain.Errorf(domain.ENOTFOUND, "upload %q not found", id)
	}
	r, ok := s.uploads[k(tenant, id)]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "upload %s not found", id)
	}
	return r, nil
}

// uploadsOf returns the uploads of a tenant (and office, when not empty)
// accepted by keep, oldest first.
func (s *Store) uploadsOf(tenant, office string, keep func(*upload) bool) []*upload {
	var out []*upload
	for _, r := range s.uploads {
		if r.u.Tenant == tenant && (office == "" || r.u.Office == office) && keep(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *upload) int {
		return strings.Compare(created(a.u.CreatedAt, a.u.ID), created(b.u.CreatedAt, b.u.ID))
	})
	return out
}

// ListUploads returns the uploads of an office, newest first.
func (s *Store) ListUploads(ctx context.Context, tenant, office string, limit int) ([]domain.Upload, error) {
	return s.uploadsBefore(ctx, tenant, office, "", limit)
}

// UploadsBefore returns the uploads of an office created before cursor, newest first.
func (s *Store) UploadsBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Upload, error) {
	if err := checkCursor(cursor); err != nil {
		return nil, err
	}
	return s.uploadsBefore(ctx, tenant, office, cursor, limit)
}

func (s *Store) uploadsBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Upload, error) {
	if err := firstErr(checkCode("tenant", tenant), checkCode("office", office)); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	all := s.uploadsOf(tenant, office, func(r *upload) bool { return cursor == "" || created(r.u.CreatedAt, r.u.ID) < cursor })
	slices.Reverse(all)
	var out []domain.Upload
	for _, r := range all {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, copyUpload(r.u))
	}
	return out, nil
}

// ReceivedUploads returns the uploads still received, oldest first.
func (s *Store) ReceivedUploads(ctx context.Context, tenant string, limit int) ([]domain.Upload, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []domain.Upload
	for _, r := range s.uploadsOf(tenant, "", func(r *upload) bool { return r.u.State == domain.UploadReceived }) {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, copyUpload(r.u))
	}
	return out, nil
}

// PutSubjects writes the validated people of a received upload as pending.
func (s *Store) PutSubjects(ctx context.Context, tenant, upload string, people []domain.Subject) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, err := s.getUpload(tenant, upload)
	if err != nil {
		return err
	}
	if u.u.State != domain.UploadReceived {
		return domain.Errorf(domain.ECONFLICT, "upload %s is %s: subjects are written only while it is received", upload, u.u.State)
	}
	now := s.now()
	seen := make(map[int]bool, len(people))
	out := make([]*subject, 0, len(people))
	for _, p := range people {
		if p.Row < 1 || seen[p.Row] {
			return domain.Errorf(domain.EINVALID, "upload %s: row %d is not positive or repeated", upload, p.Row)
		}
		seen[p.Row] = true
		out = append(out, &subject{s: domain.Subject{ID: domain.SubjectID(upload, p.Row), Tenant: tenant, Office: u.u.Office, Upload: upload,
			Row: p.Row, Person: roundTrip(p.Person), State: domain.PersonPending, Warning: p.Warning, UpdatedAt: now, Version: 1}})
	}
	rows := s.subjects[k(tenant, upload)]
	if rows == nil {
		rows = map[int]*subject{}
		s.subjects[k(tenant, upload)] = rows
	}
	for _, sub := range out {
		rows[sub.s.Row] = sub
	}
	return nil
}

// AdvanceUpload changes the state of an upload (see domain.UploadStore).
func (s *Store) AdvanceUpload(ctx context.Context, tenant, id string, to domain.UploadState, counts *domain.Counts, reportKey string, reason domain.Reason, cause domain.Cause) (domain.Upload, error) {
	if err := checkCause(cause); err != nil {
		return domain.Upload{}, err
	}
	if to == domain.UploadRejected && !reason.Code.Known() {
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "upload %s: a reason is required to reject it", id)
	}
	if err := s.lock(ctx); err != nil {
		return domain.Upload{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getUpload(tenant, id)
	if err != nil {
		return domain.Upload{}, err
	}
	if r.u.State == to {
		s.fileUploadEvent(r)
		return copyUpload(r.u), nil
	}
	if !r.u.State.CanAdvance(to) {
		return domain.Upload{}, domain.Errorf(domain.ECONFLICT, "upload %s cannot go from %s to %s", id, r.u.State, to)
	}
	detail := "list " + string(to)
	if counts != nil {
		r.u.Counts = *counts
	}
	if reportKey != "" {
		r.u.ReportKey = reportKey
	}
	switch to {
	case domain.UploadQueued:
		if counts != nil {
			detail = fmt.Sprintf("%d people queued", counts.Valid)
		}
	case domain.UploadRejected:
		detail = "list rejected: " + reason.String()
		r.u.Reason = normReason(reason)
	}
	r.u.State, r.u.UpdatedAt, r.u.Version = to, s.now(), r.u.Version+1
	r.cause, r.detail = cause, detail
	s.fileUploadEvent(r)
	return copyUpload(r.u), nil
}

// GetSubject returns one subject by id.
func (s *Store) GetSubject(ctx context.Context, tenant, id string) (domain.Subject, error) {
	if err := s.lock(ctx); err != nil {
		return domain.Subject{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getSubject(tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	return copySubject(r.s), nil
}

func (s *Store) getSubject(tenant, id string) (*subject, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	upload, row, err := domain.ParseSubjectID(id)
	if err != nil {
		return nil, domain.Errorf(domain.ENOTFOUND, "subject %q not found", id)
	}
	r, ok := s.subjects[k(tenant, upload)][row]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "subject %s not found", id)
	}
	return r, nil
}

// subjectsOf returns the subjects of an upload by row: all, or only pending ones.
func (s *Store) subjectsOf(tenant, upload string, pending bool) []*subject {
	rows := s.subjects[k(tenant, upload)]
	out := make([]*subject, 0, len(rows))
	for _, r := range rows {
		if !pending || r.s.State == domain.PersonPending {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *subject) int { return a.s.Row - b.s.Row })
	return out
}

// SubjectsOfUpload returns the subjects of an upload by row.
func (s *Store) SubjectsOfUpload(ctx context.Context, tenant, upload string) ([]domain.Subject, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if _, err := s.getUpload(tenant, upload); err != nil {
		return nil, err
	}
	var out []domain.Subject
	for _, r := range s.subjectsOf(tenant, upload, false) {
		out = append(out, copySubject(r.s))
	}
	return out, nil
}

// PendingSubjects returns up to limit pending subjects of an office's queued
// uploads, oldest upload first, then by row.
func (s *Store) PendingSubjects(ctx context.Context, tenant, office string, limit int) ([]domain.Subject, error) {
	if err := firstErr(checkCode("tenant", tenant), checkCode("office", office)); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, domain.Errorf(domain.EINVALID, "pending subjects: limit must be positive")
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []domain.Subject
	for _, u := range s.uploadsOf(tenant, office, func(r *upload) bool { return r.u.State == domain.UploadQueued }) {
		for _, r := range s.subjectsOf(tenant, u.u.ID, true) {
			if len(out) >= limit {
				return out, nil
			}
			out = append(out, copySubject(r.s))
		}
	}
	return out, nil
}

// AdvanceSubject changes the state of one subject (see domain.UploadStore).
func (s *Store) AdvanceSubject(ctx context.Context, c domain.SubjectChange) (domain.Subject, error) {
	if err := s.lock(ctx); err != nil {
		return domain.Subject{}, err
	}
	defer s.mu.Unlock()
	return s.advanceSubject(c)
}

func (s *Store) advanceSubject(c domain.SubjectChange) (domain.Subject, error) {
	if err := checkCause(c.Cause); err != nil {
		return domain.Subject{}, err
	}
	switch {
	case c.To == domain.PersonBatched && !domain.ValidID(c.Batch):
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a batch id is required to batch it", c.ID)
	case c.To == domain.PersonCertified && (c.Certificate == nil || c.Certificate.Key == "" || !sha256RE.MatchString(c.Certificate.SHA256)):
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a certificate with key and SHA-256 is required", c.ID)
	case c.To == domain.PersonFailed && !c.Reason.Code.Known():
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a reason is required to fail it", c.ID)
	}
	r, err := s.getSubject(c.Tenant, c.ID)
	if err != nil {
		return domain.Subject{}, err
	}
	if c.Batch != "" && c.To != domain.PersonBatched && r.s.Batch != c.Batch && r.s.State != c.To {
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s is not in batch %s", c.ID, c.Batch)
	}
	if r.s.State == c.To && (c.To != domain.PersonBatched || r.s.Batch == c.Batch) {
		return s.subjectDone(r), nil
	}
	if !r.s.State.CanAdvance(c.To) {
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s cannot go from %s to %s", c.ID, r.s.State, c.To)
	}
	switch c.To {
	case domain.PersonBatched:
		r.s.Batch = c.Batch
	case domain.PersonPending:
		// Back to pending: its request failed in transport; one more attempt.
		r.s.Attempts++
		r.s.Batch = ""
	case domain.PersonCertified:
		cert := roundTrip(*c.Certificate)
		r.s.Certificate = &cert
	case domain.PersonFailed:
		r.s.Reason = normReason(c.Reason)
	}
	r.s.State, r.s.UpdatedAt, r.s.Version, r.cause = c.To, s.now(), r.s.Version+1, c.Cause
	return s.subjectDone(r), nil
}

// subjectDone files the event of a subject's last change (certified, failed,
// back to pending; batching is recorded on the batch) and returns it.
func (s *Store) subjectDone(r *subject) domain.Subject {
	if r.s.State == domain.PersonBatched || r.cause == "" {
		return copySubject(r.s)
	}
	detail := fmt.Sprintf("row %d %s", r.s.Row, r.s.State)
	switch {
	case r.s.Certificate != nil && r.s.State == domain.PersonCertified:
		detail += ": " + string(r.s.Certificate.Outcome)
	case !r.s.Reason.IsZero():
		detail += ": " + r.s.Reason.String()
	}
	s.fileEvent(domain.Event{Tenant: r.s.Tenant, Subject: r.s.Upload, About: r.s.ID, At: r.s.UpdatedAt, State: string(r.s.State),
		Detail: detail, Cause: r.cause})
	return copySubject(r.s)
}

// ClaimManualProtocol reserves a hand-given number for one upload.
func (s *Store) ClaimManualProtocol(ctx context.Context, tenant string, p domain.Protocol, upload string) error {
	if err := firstErr(checkCode("tenant", tenant), checkID("upload", upload)); err != nil {
		return err
	}
	if !domain.ValidProtocolNumber(p.Number) || p.Date.IsZero() {
		return domain.Errorf(domain.EINVALID, "manual protocol %q: want 7 or more digits and a date", p.Number)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	n, _ := strconv.ParseInt(p.Number, 10, 64)
	key := k(tenant, strconv.Itoa(p.Date.Year), strconv.FormatInt(n, 10))
	cur, ok := s.manual[key]
	// A claim whose upload was never recorded (its submission failed after
	// the claim) is taken over.
	if !ok || cur == upload || s.uploads[k(tenant, cur)] == nil {
		s.manual[key] = upload
		return nil
	}
	return domain.Errorf(domain.ECONFLICT, "protocol number %s of %d is upload %s's already", p.Number, p.Date.Year, cur)
}
