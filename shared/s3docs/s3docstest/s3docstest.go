// Package s3docstest gives tests an s3docs.Docs that needs no server:
// gofakes3 with its in-memory backend, as the local stack runs it, reached
// by an S3 client whose HTTP transport calls gofakes3's handler directly (no
// socket), path-style, both buckets created.
//
//	d := s3docstest.New(t)
package s3docstest

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/localdev/inproc"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// Endpoint is the address the client is configured with; nothing listens
// there: its transport never dials.
const Endpoint = "http://s3docstest.invalid"

// Default bucket names.
const (
	Uploads   = "uploads"
	Documents = "documents"
)

// Env is one test's S3.
type Env struct {
	Docs      *s3docs.Docs
	S3        *s3.Client
	HTTP      *http.Client // fetches presigned URLs without a server
	Uploads   string
	Documents string
}

// New returns Docs over a fresh in-memory S3, configured as the local stack
// configures them (default SSE: aws:kms, which gofakes3 accepts and ignores).
func New(t testing.TB) *s3docs.Docs { return Open(t, s3docs.Options{}).Docs }

// Open is New with options: empty bucket names become Uploads and
// Documents; SSE and the KMS key are passed on as given.
func Open(t testing.TB, opt s3docs.Options) *Env {
	t.Helper()
	if opt.UploadsBucket == "" {
		opt.UploadsBucket = Uploads
	}
	if opt.DocumentsBucket == "" {
		opt.DocumentsBucket = Documents
	}
	backend := s3mem.New()
	for _, b := range []string{opt.UploadsBucket, opt.DocumentsBucket} {
		if err := backend.CreateBucket(b); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			t.Fatalf("creating bucket %s: %v", b, err)
		}
	}
	faker := gofakes3.New(backend,
		gofakes3.WithLogger(gofakes3.DiscardLog()),
		gofakes3.WithTimeSkewLimit(0), // presigned URLs made with a test clock still work
	)
	hc := inproc.Client(faker.Server())
	cfg := aws.Config{
		Region:       awsconf.DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(Endpoint),
		HTTPClient:   hc,
	}
	client := awsconf.NewS3(cfg, true, func(o *s3.Options) { o.UsePathStyle = true })
	return &Env{Docs: s3docs.New(client, opt), S3: client, HTTP: hc, Uploads: opt.UploadsBucket, Documents: opt.DocumentsBucket}
}

// Keys lists every object key of a bucket.
func (e *Env) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing bucket %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
