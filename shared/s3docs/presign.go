package s3docs

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// PresignedPut is a URL that stores one object with a plain HTTP PUT.
type PresignedPut struct {
	URL    string
	Method string // PUT
	// Header are the headers the PUT must carry exactly as given: they are
	// part of the signature (content type, user metadata, server-side
	// encryption). Host and Content-Length are signed too but left out here,
	// as browsers set them themselves: the body must be exactly Size bytes.
	Header    map[string]string
	Size      int64
	ExpiresAt time.Time
}

// PresignPut returns a URL that puts an object of exactly size bytes at ref
// for ttl (at most MaxPresign; 15 minutes when zero), with contentType, user
// metadata meta (never personal data) and the server-side encryption of
// Options.SSE. The object carries no "sha256" metadata: its content is not
// known yet, and whoever reads it (intake) hashes it.
func (d *Docs) PresignPut(ctx context.Context, ref Ref, contentType string, size int64, meta map[string]string, ttl time.Duration, now time.Time) (PresignedPut, error) {
	if err := checkKey(ref.Key); err != nil {
		return PresignedPut{}, err
	}
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	if ttl > MaxPresign {
		return PresignedPut{}, domain.Errorf(domain.EINVALID, "presigned URL lifetime %s is over %s", ttl, MaxPresign)
	}
	if size <= 0 || size > MaxObjectSize {
		return PresignedPut{}, domain.Errorf(domain.EINVALID, "presigned PUT of %d bytes: want 1 to %d", size, int64(MaxObjectSize))
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key),
		// Signed: S3 refuses a body of any other length, so the declared
		// size bounds what is stored.
		ContentLength: aws.Int64(size),
		Metadata:      map[string]string{},
	}
	for k, v := range meta {
		in.Metadata[strings.ToLower(k)] = v
	}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	switch d.opt.SSE {
	case SSEKMS:
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		if d.opt.KMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(d.opt.KMSKeyID)
		}
	case SSES3:
		in.ServerSideEncryption = types.ServerSideEncryptionAes256
	}
	req, err := d.presign.PresignPutObject(ctx, in, s3.WithPresignExpires(ttl), func(o *s3.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(o *s3.Options) {
			// Otherwise the SDK signs a CRC32 of the empty body it sees now,
			// and S3 refuses the real one.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		})
	})
	if err != nil {
		return PresignedPut{}, s3err(err, "presigning", ref)
	}
	out := PresignedPut{URL: req.URL, Method: req.Method, Header: map[string]string{}, Size: size, ExpiresAt: now.Add(ttl)}
	for k, v := range req.SignedHeader {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length":
			continue
		}
		if len(v) > 0 {
			out.Header[http.CanonicalHeaderKey(k)] = v[0]
		}
	}
	return out, nil
}
