package s3docs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/s3docs/s3docstest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// backend is an S3 for the tests: gofakes3 served on a socket by testenv
// (skipped by go test -short), or in process by s3docstest.
type backend struct {
	name string
	open func(t *testing.T, o s3docs.Options) (*s3docs.Docs, *http.Client)
}

var backends = []backend{
	{"server", func(t *testing.T, o s3docs.Options) (*s3docs.Docs, *http.Client) {
		env := testenv.New(t)
		o.UploadsBucket, o.DocumentsBucket = env.Uploads, env.Documents
		return s3docs.New(env.S3, o), http.DefaultClient
	}},
	{"in process", func(t *testing.T, o s3docs.Options) (*s3docs.Docs, *http.Client) {
		env := s3docstest.Open(t, o)
		return env.Docs, env.HTTP
	}},
}

// eachBackend runs f on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

func TestPutGetHeadPresign(t *testing.T) { eachBackend(t, testPutGetHeadPresign) }

func testPutGetHeadPresign(t *testing.T, be backend) {
	ctx := context.Background()
	for _, sse := range []string{s3docs.SSEKMS, s3docs.SSES3, s3docs.SSENone} {
		t.Run(sse, func(t *testing.T) {
			d, hc := be.open(t, s3docs.Options{SSE: sse, KMSKeyID: "alias/casellario"})
			body := []byte("Cognome;Nome\nROSSI;MARIO\n")
			sum := sha256.Sum256(body)
			id := domain.NewID()
			ref := d.Upload(s3docs.UploadKey("c_g999", "SUAP", id, "CSV"))
			obj, err := d.Put(ctx, ref, "text/csv", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(body)) {
				t.Fatalf("%+v", obj)
			}
			again, err := d.Put(ctx, ref, "text/csv", bytes.NewReader(body)) // idempotent re-put
			if err != nil || again.SHA256 != obj.SHA256 {
				t.Fatal(again, err)
			}
			head, err := d.Head(ctx, ref)
			if err != nil || head.SHA256 != obj.SHA256 || head.Size != obj.Size || head.ContentType != "text/csv" {
				t.Fatalf("head %+v %v", head, err)
			}
			got, _, err := d.GetBytes(ctx, ref)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatal(string(got), err)
			}
			url, err := d.PresignGet(ctx, ref, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			res, err := hc.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Equal(b, body) {
				t.Fatalf("presigned GET: %d %q", res.StatusCode, b)
			}
		})
	}
}

func TestErrors(t *testing.T) { eachBackend(t, testErrors) }

func testErrors(t *testing.T, be backend) {
	ctx := context.Background()
	d, _ := be.open(t, s3docs.Options{})
	tests := []struct {
		name string
		err  func() error
		code string
	}{
		{"missing", func() error { _, err := d.Head(ctx, d.Document("c_g999/batches/x/request.pdf")); return err }, domain.ENOTFOUND},
		{"missing get", func() error { _, _, err := d.Get(ctx, d.Document("c_g999/nope")); return err }, domain.ENOTFOUND},
		{"unsafe key", func() error { _, err := d.Put(ctx, d.Document("c_g999/../x"), "", strings.NewReader("x")); return err }, domain.EINVALID},
		{"name in key", func() error {
			_, err := d.Put(ctx, d.Document("c_g999/rossi mario.csv"), "", strings.NewReader("x"))
			return err
		}, domain.EINVALID},
		{"no bucket", func() error {
			_, err := d.Put(ctx, s3docs.Ref{Bucket: "nobucket", Key: "a"}, "", strings.NewReader("x"))
			return err
		}, domain.EINTERNAL},
		{"long presign", func() error { _, err := d.PresignGet(ctx, d.Document("a"), 2*time.Hour); return err }, domain.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.ErrorCode(tc.err()); got != tc.code {
				t.Fatalf("code %q, want %q", got, tc.code)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	id := domain.NewID()
	k := s3docs.UploadKey("c_g999", "ATTI-IMMOBILIARI", id, "XLSX")
	p, err := s3docs.ParseUploadKey(k)
	if err != nil || p != (s3docs.UploadKeyParts{Tenant: "c_g999", Office: "ATTI-IMMOBILIARI", Upload: id, Ext: "xlsx"}) {
		t.Fatal(k, p, err)
	}
	for _, bad := range []string{"c_g999/SUAP/" + id + "/rossi.csv", "c_g999/SUAP/notanid/list.csv", "c_g999/SUAP/" + id + "/list.exe", "x/" + k} {
		if _, err := s3docs.ParseUploadKey(bad); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v", bad, err)
		}
	}
	sum := strings.Repeat("ab", 32)
	if got := s3docs.MessageKey("c_g999", sum); got != "c_g999/pec/ab/"+sum+".eml" {
		t.Fatal(got)
	}
	if got := s3docs.CertificateKey("c_g999", "b", domain.SubjectID(id, 7)); got != "c_g999/batches/b/certificates/"+id+"-7.pdf" {
		t.Fatal(got)
	}
}

func TestMetadata(t *testing.T) { eachBackend(t, testMetadata) }

func testMetadata(t *testing.T, be backend) {
	ctx := context.Background()
	d, _ := be.open(t, s3docs.Options{})
	ref := d.Upload(s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv"))
	if _, err := d.PutWithMetadata(ctx, ref, "text/csv", bytes.NewReader([]byte("x")),
		map[string]string{"Uploaded-By": "cli:mario", "protocol-number": "12345", "sha256": "forged"}); err != nil {
		t.Fatal(err)
	}
	head, err := d.Head(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("x"))
	if head.Metadata["uploaded-by"] != "cli:mario" || head.Metadata["protocol-number"] != "12345" ||
		head.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("metadata %v, sha %s", head.Metadata, head.SHA256)
	}
	body, obj, err := d.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	body.Close()
	if obj.Metadata["uploaded-by"] != "cli:mario" {
		t.Fatalf("Get metadata %v", obj.Metadata)
	}
	for ext, ok := range map[string]bool{"csv": true, "xlsx": true, "json": true, "xls": false, "CSV": false, "": false} {
		if s3docs.ValidUploadExt(ext) != ok {
			t.Errorf("ValidUploadExt(%q) != %v", ext, ok)
		}
	}
}

func TestPutStream(t *testing.T) { eachBackend(t, testPutStream) }

func testPutStream(t *testing.T, be backend) {
	ctx := context.Background()
	d, _ := be.open(t, s3docs.Options{})
	for _, c := range []struct {
		name string
		size int
		max  int64
		code string
	}{
		{"one part", 1000, 0, ""},
		{"several parts", s3docs.PartSize + 1000, 0, ""},
		{"over the limit", s3docs.PartSize + 1000, s3docs.PartSize, domain.ETOOLARGE},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789"), c.size/10)
			ref := d.Document("c_g999/pec/aside/" + strings.ReplaceAll(c.name, " ", "-") + ".eml")
			obj, err := d.PutStream(ctx, ref, "message/rfc822", bytes.NewReader(body), c.max)
			if got := domain.ErrorCode(err); got != c.code {
				t.Fatalf("code %q (%v), want %q", got, err, c.code)
			}
			if c.code != "" {
				if _, err := d.Head(ctx, ref); domain.ErrorCode(err) != domain.ENOTFOUND {
					t.Fatalf("refused body stored: %v", err)
				}
				return
			}
			sum := sha256.Sum256(body)
			if obj.SHA256 != hex.EncodeToString(sum[:]) || obj.Size != int64(len(body)) {
				t.Fatalf("stored %+v", obj)
			}
			got, _, err := d.GetBytes(ctx, ref)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read back %d bytes, %v", len(got), err)
			}
		})
	}
}

// recorder keeps the encryption headers of every request that creates an object.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []string // "<method> <sse> <kms key id>"
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	create := req.Method == http.MethodPut && req.URL.Query().Get("partNumber") == "" ||
		req.Method == http.MethodPost && req.URL.Query().Has("uploads")
	if create {
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.Header.Get("X-Amz-Server-Side-Encryption")+" "+req.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
		r.mu.Unlock()
	}
	return r.base.RoundTrip(req)
}

// TestEncryptionHeaders: every object we create asks S3 for the configured
// encryption, by a single PUT or by a multipart upload; "none" sends no header.
func TestEncryptionHeaders(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	large := bytes.Repeat([]byte("x"), s3docs.PartSize+1)
	tests := []struct {
		sse, key string
		want     string // the headers, "<sse> <key id>"
	}{
		{s3docs.SSEKMS, "alias/casellario", "aws:kms alias/casellario"},
		{s3docs.SSEKMS, "", "aws:kms "},
		{"", "", "aws:kms "}, // the default
		{s3docs.SSES3, "alias/ignored", "AES256 "},
		{s3docs.SSENone, "alias/ignored", " "},
	}
	for _, tt := range tests {
		t.Run(tt.sse+"/"+tt.key, func(t *testing.T) {
			rec := &recorder{base: http.DefaultTransport}
			opts := env.S3.Options()
			opts.HTTPClient = &http.Client{Transport: rec}
			d := s3docs.New(s3.New(opts), s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: tt.sse, KMSKeyID: tt.key})
			if _, err := d.Put(ctx, d.Document("c_g999/sse/small.txt"), "text/plain", strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := d.PutStream(ctx, d.Document("c_g999/sse/large.bin"), "application/octet-stream", bytes.NewReader(large), 0); err != nil {
				t.Fatal(err)
			}
			want := []string{"PUT " + tt.want, "POST " + tt.want}
			if strings.Join(rec.seen, "|") != strings.Join(want, "|") {
				t.Errorf("object creations %q, want %q", rec.seen, want)
			}
		})
	}
}

func TestPresignPut(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	body := []byte("Cognome;Nome\nROSSI;MARIO\n")
	for _, sse := range []string{s3docs.SSEKMS, s3docs.SSES3, s3docs.SSENone} {
		t.Run(sse, func(t *testing.T) {
			d := s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: sse, KMSKeyID: "alias/casellario"})
			ref := d.Upload(s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv"))
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			p, err := d.PresignPut(ctx, ref, "text/csv", int64(len(body)), map[string]string{"Uploaded-By": "suap@c_g999"}, 0, now)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"Content-Type": "text/csv", "X-Amz-Meta-Uploaded-By": "suap@c_g999"}
			switch sse {
			case s3docs.SSEKMS:
				want["X-Amz-Server-Side-Encryption"] = "aws:kms"
				want["X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"] = "alias/casellario"
			case s3docs.SSES3:
				want["X-Amz-Server-Side-Encryption"] = "AES256"
			}
			if p.Method != http.MethodPut || !p.ExpiresAt.Equal(now.Add(15*time.Minute)) || len(p.Header) != len(want) {
				t.Fatalf("%+v", p)
			}
			for k, v := range want {
				if p.Header[k] != v {
					t.Errorf("header %s = %q, want %q", k, p.Header[k], v)
				}
			}
			for _, q := range []string{"X-Amz-Signature=", "content-length", "X-Amz-Expires=900"} {
				if !strings.Contains(p.URL, q) {
					t.Errorf("URL lacks %s: %s", q, p.URL)
				}
			}
			if strings.Contains(strings.ToLower(p.URL), "checksum") {
				t.Errorf("URL signs a checksum of an empty body: %s", p.URL)
			}
			req, _ := http.NewRequest(p.Method, p.URL, bytes.NewReader(body))
			for k, v := range p.Header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("PUT: %d", res.StatusCode)
			}
			got, obj, err := d.GetBytes(ctx, ref)
			if err != nil || !bytes.Equal(got, body) || obj.Metadata["uploaded-by"] != "suap@c_g999" || obj.SHA256 != "" {
				t.Fatalf("stored %q %+v %v", got, obj, err)
			}
		})
	}
}

func TestPresignPutErrors(t *testing.T) {
	env := testenv.New(t)
	d := s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents})
	ok := d.Upload(s3docs.UploadKey("c_g999", "SUAP", domain.NewID(), "csv"))
	for _, tt := range []struct {
		name string
		ref  s3docs.Ref
		size int64
		ttl  time.Duration
	}{
		{"unsafe key", d.Upload("c_g999/../x.csv"), 10, 0},
		{"empty", ok, 0, 0},
		{"too large", ok, s3docs.MaxObjectSize + 1, 0},
		{"too long", ok, 10, 2 * time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.PresignPut(context.Background(), tt.ref, "text/csv", tt.size, nil, tt.ttl, time.Now())
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("%v", err)
			}
		})
	}
}
