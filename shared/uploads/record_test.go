package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newDeps(t *testing.T) (*store.Dynamo, *s3docs.Docs) {
	env := testenv.New(t)
	return store.New(env.Dynamo, store.Options{Table: env.Table}),
		s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: s3docs.SSENone})
}

// Submit and Presign share Record: both leave a received upload whose key
// carries its id; Submit's has the SHA-256 at once, Presign's when intake
// (CreateUpload with the object's hash) completes it.
func TestSubmitAndPresignRecord(t *testing.T) {
	ctx := context.Background()
	st, d := newDeps(t)
	data := []byte("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\nRossi;Mario;M;01/01/1980;Roma\n")
	sum := sha256.Sum256(data)
	sub := Submission{Tenant: "c_g999", Office: "SUAP", Ext: "csv", FileName: `C:\liste\elenco marzo.csv`, UploadedBy: "suap@c_g999", Data: data}

	u, err := Submit(ctx, st, d, sub, domain.CauseUser("suap@c_g999"))
	if err != nil || u.SHA256 != hex.EncodeToString(sum[:]) || u.FileName != "elenco marzo.csv" || u.Key != s3docs.UploadKey("c_g999", "SUAP", u.ID, "csv") {
		t.Fatalf("submit: %+v %v", u, err)
	}

	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	sub.Data = nil
	p, err := Presign(ctx, st, d, sub, int64(len(data)), now, domain.CauseUser("suap@c_g999"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Upload.SHA256 != "" || p.Upload.State != domain.UploadReceived || p.Upload.FileName != "elenco marzo.csv" ||
		!p.Put.ExpiresAt.Equal(now.Add(PresignTTL)) || p.Put.Header["X-Amz-Meta-Uploaded-By"] != "suap@c_g999" || p.Put.Header["Content-Type"] != "text/csv" {
		t.Fatalf("presign: %+v", p)
	}
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
	done, err := st.CreateUpload(ctx, domain.Upload{ID: p.Upload.ID, Tenant: "c_g999", Office: "SUAP", Key: p.Upload.Key,
		SHA256: hex.EncodeToString(sum[:])}, domain.CauseS3(p.Upload.Key, ""))
	if err != nil || done.SHA256 != hex.EncodeToString(sum[:]) || done.UploadedBy != "suap@c_g999" {
		t.Fatalf("completed: %+v %v", done, err)
	}
}

func TestRecordAndPresignErrors(t *testing.T) {
	ctx := context.Background()
	st, d := newDeps(t)
	manual := &domain.Protocol{Number: "0000042", Date: domain.Date{Year: 2026, Month: 3, Day: 2}}
	base := Submission{Tenant: "c_g999", Office: "SUAP", Ext: "csv", UploadedBy: "protocollo@c_g999"}
	if _, err := Record(ctx, st, Submission{Tenant: "c_g999", Office: "SUAP", Ext: "csv", Protocol: manual}, "", domain.CauseUser("p")); err != nil {
		t.Fatal(err)
	}
	withManual := base
	withManual.Protocol = manual
	badExt := base
	badExt.Ext = "xls"
	for _, tt := range []struct {
		name string
		sub  Submission
		size int64
		code string
		user bool
	}{
		{"format", badExt, 10, domain.EINVALID, false},
		{"empty", base, 0, domain.EINVALID, false},
		{"number taken", withManual, 10, domain.ECONFLICT, true},
		{"too large to presign", base, s3docs.MaxObjectSize + 1, domain.EINVALID, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Presign(ctx, st, d, tt.sub, tt.size, time.Now(), domain.CauseUser("p"))
			var de *domain.Error
			if domain.ErrorCode(err) != tt.code || (tt.user && !(errors.As(err, &de) && de.ForUsers)) {
				t.Fatalf("%v", err)
			}
		})
	}
	// The record whose URL could not be made does not wait for a file.
	ups, err := st.ListUploads(ctx, "c_g999", "SUAP", 10)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, u := range ups {
		if u.State == domain.UploadRejected && u.Reason.Code == domain.ReasonUploadNotProcessed {
			rejected++
		}
	}
	if rejected != 1 {
		t.Fatalf("%d rejected records: %+v", rejected, ups)
	}
}
