package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

// An upload recorded for a presigned PUT has no SHA-256 until intake reads
// its object: CreateUpload then completes it.
func TestCreateUploadWithoutSHA256(t *testing.T) {
	other := fmt.Sprintf("%064x", 7)
	for _, tt := range []struct {
		name  string
		steps []domain.Upload // after the record without SHA-256; Key and ID filled in
		code  string          // of the last step
		sha   string          // recorded at the end
		ver   string
	}{
		{"recorded again", []domain.Upload{{}}, "", "", ""},
		{"completed unversioned", []domain.Upload{{SHA256: sha}}, "", sha, ""},
		{"completed versioned", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}}, "", sha, "v1"},
		{"completed twice", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}, {SHA256: sha, ObjectVersion: "v1"}}, "", sha, "v1"},
		{"record after completion", []domain.Upload{{SHA256: sha}, {}}, "", sha, ""},
		{"another content after completion", []domain.Upload{{SHA256: sha}, {SHA256: other}}, domain.ECONFLICT, sha, ""},
		{"another version after completion", []domain.Upload{{SHA256: sha, ObjectVersion: "v1"}, {SHA256: sha, ObjectVersion: "v2"}}, domain.ECONFLICT, sha, "v1"},
		{"another office", []domain.Upload{{Office: "CONTRATTI", SHA256: sha}}, domain.ECONFLICT, "", ""},
		{"version without SHA-256", []domain.Upload{{ObjectVersion: "v1"}}, domain.EINVALID, "", ""},
		{"bad SHA-256", []domain.Upload{{SHA256: "ABC"}}, domain.EINVALID, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			id := domain.NewID()
			key := tenant + "/SUAP/" + id + "/list.csv"
			rec := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: key,
				FileName: "elenco.csv", UploadedBy: "suap@c_g999"}, domain.CauseUser("suap@c_g999")))
			if rec.SHA256 != "" || rec.State != domain.UploadReceived {
				t.Fatalf("recorded %+v", rec)
			}
			var err error
			for _, st := range tt.steps {
				st.ID, st.Tenant, st.Key = id, tenant, key
				if st.Office == "" {
					st.Office = "SUAP"
				}
				_, err = f.CreateUpload(ctx, st, domain.CauseS3(key, st.ObjectVersion))
			}
			if domain.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			got := must[domain.Upload](t)(f.GetUpload(ctx, tenant, id))
			if got.SHA256 != tt.sha || got.ObjectVersion != tt.ver || got.FileName != "elenco.csv" || got.UploadedBy != "suap@c_g999" ||
				!got.CreatedAt.Equal(rec.CreatedAt) || got.State != domain.UploadReceived {
				t.Fatalf("stored %+v", got)
			}
		})
	}
}
