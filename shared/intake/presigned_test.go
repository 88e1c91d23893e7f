package intake_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/uploads"
)

// A presigned upload is recorded without its SHA-256; intake completes the
// record from the object, keeps what the record says (file name, uploader)
// and the sweep waits for the PUT while the URL may still be used.
func TestPresignedUpload(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		put      bool          // the clerk's PUT came
		sweepAt  time.Duration // after the record
		want     domain.UploadState
		found    int
		fileName string
	}{
		{"put, then the S3 event", true, 0, domain.UploadQueued, 0, "grande.csv"},
		{"no PUT yet, URL still valid", false, 30 * time.Minute, domain.UploadReceived, 0, "grande.csv"},
		{"no PUT, URL expired", false, intake.AwaitPresigned + time.Minute, domain.UploadRejected, 1, "grande.csv"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			now := time.Now()
			f.h.Now = func() time.Time { return now }
			data := []byte(valid)
			p, err := uploads.Presign(ctx, f.store, f.docs, uploads.Submission{Tenant: "c_g999", Office: "SUAP", Ext: "csv",
				FileName: "grande.csv", UploadedBy: "suap@c_g999"}, int64(len(data)), now, domain.CauseUser("suap@c_g999"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.put {
				req, _ := http.NewRequest(p.Put.Method, p.Put.URL, bytes.NewReader(data))
				for k, v := range p.Put.Header {
					req.Header.Set(k, v)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Fatalf("PUT %d", res.StatusCode)
				}
				if err := f.h.HandleS3(ctx, event(p.Upload.Key, "")); err != nil {
					t.Fatal(err)
				}
			} else {
				f.h.Now = func() time.Time { return now.Add(tt.sweepAt) }
				sum, err := f.h.Sweep(ctx, domain.CauseSchedule("s"))
				if err != nil || sum.Found != tt.found {
					t.Fatalf("sweep %+v %v", sum, err)
				}
			}
			got, err := f.store.GetUpload(ctx, "c_g999", p.Upload.ID)
			if err != nil || got.State != tt.want || got.FileName != tt.fileName || got.UploadedBy != "suap@c_g999" {
				t.Fatalf("upload %+v %v", got, err)
			}
			if tt.put && (len(got.SHA256) != 64 || got.Counts.Valid != 2) {
				t.Fatalf("not completed: %+v", got)
			}
		})
	}
}
