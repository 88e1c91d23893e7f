// Package s3docs stores documents in S3: the uploads bucket (the lists offices
// upload, one prefix per tenant and office) and the documents bucket (request
// PDFs, subjects files, segnatura, raw PEC messages, certificates, validation
// reports).
//
// The keys this package builds never contain personal data: they are made
// only from tenant ids, office codes, random ids, row-derived subject ids,
// content hashes and fixed names (see the *Key functions): a list uploaded
// through the API is stored as "list.<ext>". The one exception is a file an
// office drops into the uploads bucket itself, whose key is its own file name
// ("elenco-marzo.csv"): keys are never logged, only their length.
//
// Every Put computes the SHA-256 of the bytes while reading them, sends it as
// the object's checksum (S3 verifies it) and records it as the object
// metadata "sha256" (hex); every Put asks for server-side encryption
// (Options.SSE). gofakes3, the local stand-in, accepts the SSE headers and
// ignores them.
package s3docs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/casellario-pec/casellario/shared/domain"
)

// SSE modes.
const (
	SSEKMS  = "aws:kms" // with Options.KMSKeyID, or the account's aws/s3 key
	SSES3   = "AES256"
	SSENone = "none" // for stand-ins that reject the headers (gofakes3 does not)
)

// MaxObjectSize bounds what Put reads into memory (PEC messages are at most ~30 MB).
const MaxObjectSize = 64 << 20

// Options configure Docs.
type Options struct {
	UploadsBucket   string // CASELLARIO_UPLOADS_BUCKET
	DocumentsBucket string // CASELLARIO_DOCUMENTS_BUCKET
	SSE             string // CASELLARIO_SSE: aws:kms (default), AES256 or none
	KMSKeyID        string // CASELLARIO_KMS_KEY_ID: key id or ARN for aws:kms
}

// encryption returns the server-side encryption headers of a new object.
func (d *Docs) encryption() (types.ServerSideEncryption, *string) {
	switch d.opt.SSE {
	case SSEKMS:
		if d.opt.KMSKeyID != "" {
			return types.ServerSideEncryptionAwsKms, aws.String(d.opt.KMSKeyID)
		}
		return types.ServerSideEncryptionAwsKms, nil
	case SSES3:
		return types.ServerSideEncryptionAes256, nil
	}
	return "", nil
}

// Ref names an object.
type Ref struct {
	Bucket  string
	Key     string
	Version string // S3 version id; empty for the latest
}

// Object describes a stored object.
type Object struct {
	Ref
	SHA256      string // hex
	Size        int64
	ContentType string
	Metadata    map[string]string // user metadata (x-amz-meta-*), lower-case names; from Get and Head
}

// Docs reads and writes documents. Safe for concurrent use.
type Docs struct {
	s3      *s3.Client
	presign *s3.PresignClient
	opt     Options
}

// New returns Docs over client.
func New(client *s3.Client, opt Options) *Docs {
	if opt.SSE == "" {
		opt.SSE = SSEKMS
	}
	return &Docs{s3: client, presign: s3.NewPresignClient(client), opt: opt}
}

// Upload names key in the uploads bucket.
func (d *Docs) Upload(key string) Ref { return Ref{Bucket: d.opt.UploadsBucket, Key: key} }

// Document names key in the documents bucket.
func (d *Docs) Document(key string) Ref { return Ref{Bucket: d.opt.DocumentsBucket, Key: key} }

// Put stores body under ref (its Version is ignored) and returns the stored
// object with its SHA-256 and version. Putting the same bytes again is harmless.
func (d *Docs) Put(ctx context.Context, ref Ref, contentType string, body io.Reader) (Object, error) {
	return d.PutWithMetadata(ctx, ref, contentType, body, nil)
}

// PutWithMetadata is Put with user metadata (names lower case; "sha256" is ours).
// Metadata is visible to anyone who may read the object: never personal data.
func (d *Docs) PutWithMetadata(ctx context.Context, ref Ref, contentType string, body io.Reader, meta map[string]string) (Object, error) {
	if err := checkKey(ref.Key); err != nil {
		return Object{}, err
	}
	h := sha256.New()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.TeeReader(io.LimitReader(body, MaxObjectSize+1), h))
	if err != nil {
		return Object{}, domain.Errorf(domain.EINTERNAL, "reading the document for %s: %v", ref.Key, err)
	}
	if n > MaxObjectSize {
		return Object{}, domain.Errorf(domain.ETOOLARGE, "document %s is over %d MB", ref.Key, MaxObjectSize>>20)
	}
	sum := h.Sum(nil)
	in := &s3.PutObjectInput{
		Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key), Body: bytes.NewReader(buf.Bytes()),
		ContentLength:  aws.Int64(n),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum)),
		Metadata:       map[string]string{},
	}
	for k, v := range meta {
		in.Metadata[strings.ToLower(k)] = v
	}
	in.Metadata["sha256"] = hex.EncodeToString(sum)
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	in.ServerSideEncryption, in.SSEKMSKeyId = d.encryption()
	out, err := d.s3.PutObject(ctx, in)
	if err != nil {
		return Object{}, s3err(err, "storing", ref)
	}
	return Object{Ref: Ref{Bucket: ref.Bucket, Key: ref.Key, Version: aws.ToString(out.VersionId)},
		SHA256: hex.EncodeToString(sum), Size: n, ContentType: contentType}, nil
}

// Get opens an object; the caller closes the body.
func (d *Docs) Get(ctx context.Context, ref Ref) (io.ReadCloser, Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)}
	if ref.Version != "" {
		in.VersionId = aws.String(ref.Version)
	}
	out, err := d.s3.GetObject(ctx, in)
	if err != nil {
		return nil, Object{}, s3err(err, "reading", ref)
	}
	return out.Body, Object{Ref: Ref{Bucket: ref.Bucket, Key: ref.Key, Version: aws.ToString(out.VersionId)},
		SHA256: out.Metadata["sha256"], Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		Metadata: lowerKeys(out.Metadata)}, nil
}

// GetBytes reads a whole object and checks it against its recorded SHA-256.
func (d *Docs) GetBytes(ctx context.Context, ref Ref) ([]byte, Object, error) {
	body, obj, err := d.Get(ctx, ref)
	if err != nil {
		return nil, obj, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxObjectSize+1))
	if err != nil {
		return nil, obj, domain.Errorf(domain.EINTERNAL, "reading %s: %v", ref.Key, err)
	}
	if sum := sha256.Sum256(b); obj.SHA256 != "" && hex.EncodeToString(sum[:]) != obj.SHA256 {
		return nil, obj, domain.Errorf(domain.EINTERNAL, "object %s does not match its recorded SHA-256", ref.Key)
	}
	return b, obj, nil
}

// Head returns an object's description without its body.
func (d *Docs) Head(ctx context.Context, ref Ref) (Object, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)}
	if ref.Version != "" {
		in.VersionId = aws.String(ref.Version)
	}
	out, err := d.s3.HeadObject(ctx, in)
	if err != nil {
		return Object{}, s3err(err, "reading", ref)
	}
	return Object{Ref: Ref{Bucket: ref.Bucket, Key: ref.Key, Version: aws.ToString(out.VersionId)},
		SHA256: out.Metadata["sha256"], Size: aws.ToInt64(out.ContentLength), ContentType: aws.ToString(out.ContentType),
		Metadata: lowerKeys(out.Metadata)}, nil
}

// MaxPresign is the longest a presigned URL lives.
const MaxPresign = time.Hour

// PresignGet returns a URL that downloads the object for ttl (at most MaxPresign;
// 5 minutes when zero).
func (d *Docs) PresignGet(ctx context.Context, ref Ref, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	if ttl > MaxPresign {
		return "", domain.Errorf(domain.EINVALID, "presigned URL lifetime %s is over %s", ttl, MaxPresign)
	}
	in := &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)}
	if ref.Version != "" {
		in.VersionId = aws.String(ref.Version)
	}
	req, err := d.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", s3err(err, "presigning", ref)
	}
	return req.URL, nil
}

func s3err(err error, verb string, ref Ref) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchVersion":
			return domain.Errorf(domain.ENOTFOUND, "object %s not found in %s", ref.Key, ref.Bucket)
		case "NoSuchBucket":
			e := domain.Errorf(domain.EINTERNAL, "bucket %s does not exist", ref.Bucket)
			e.Err = err
			return e
		}
	}
	e := domain.Errorf(domain.EINTERNAL, "%s object %s in %s", verb, ref.Key, ref.Bucket)
	e.Err = err
	return e
}

// partRE is what a key component may contain.
var partRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

func checkKey(key string) error {
	if key == "" || len(key) > 1024 {
		return domain.Errorf(domain.EINVALID, "object key %q: empty or too long", key)
	}
	for _, p := range strings.Split(key, "/") {
		if !partRE.MatchString(p) || p == "." || p == ".." {
			return domain.Errorf(domain.EINVALID, "object key %q: component %q is not safe", key, p)
		}
	}
	return nil
}

// lowerKeys normalises metadata names: S3 and its stand-ins differ in case.
func lowerKeys(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
