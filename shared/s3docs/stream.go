package s3docs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// PartSize is the size of each part of a streamed upload: memory use of
// PutStream, whatever the size of the body.
const PartSize = 8 << 20

// PutStream stores body under ref without holding more than PartSize bytes
// of it in memory: a body that fits one part is a plain Put, a larger one a
// multipart upload (parts written one after the other, each with its
// SHA-256 checksum, which S3 verifies; the upload is aborted on any
// failure). It returns the SHA-256 of the whole body, which, unlike Put, is
// not recorded in the object's metadata (it is known only at the end).
// Bodies over max bytes (max > 0) are refused with ETOOLARGE.
func (d *Docs) PutStream(ctx context.Context, ref Ref, contentType string, body io.Reader, max int64) (Object, error) {
	if err := checkKey(ref.Key); err != nil {
		return Object{}, err
	}
	buf := make([]byte, PartSize)
	n, err := io.ReadFull(body, buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.Put(ctx, ref, contentType, bytes.NewReader(buf[:n]))
	}
	if err != nil {
		return Object{}, domain.Errorf(domain.EINTERNAL, "reading the document for %s: %v", ref.Key, err)
	}
	create := &s3.CreateMultipartUploadInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256}
	if contentType != "" {
		create.ContentType = aws.String(contentType)
	}
	create.ServerSideEncryption, create.SSEKMSKeyId = d.encryption()
	mu, err := d.s3.CreateMultipartUpload(ctx, create)
	if err != nil {
		return Object{}, s3err(err, "starting a multipart upload of", ref)
	}
	abort := func(cause error) (Object, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PartTimeout)
		defer cancel()
		_, _ = d.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key), UploadId: mu.UploadId})
		return Object{}, cause
	}
	whole := sha256.New()
	var parts []types.CompletedPart
	var total int64
	for num := int32(1); n > 0; num++ {
		total += int64(n)
		if max > 0 && total > max {
			return abort(domain.Errorf(domain.ETOOLARGE, "document %s is over %d MB", ref.Key, max>>20))
		}
		chunk := buf[:n]
		whole.Write(chunk)
		sum := sha256.Sum256(chunk)
		ck := base64.StdEncoding.EncodeToString(sum[:])
		out, err := d.s3.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key), UploadId: mu.UploadId,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(chunk), ContentLength: aws.Int64(int64(n)), ChecksumSHA256: aws.String(ck)})
		if err != nil {
			return abort(s3err(err, "writing a part of", ref))
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumSHA256: aws.String(ck)})
		n, err = io.ReadFull(body, buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		if err != nil {
			return abort(domain.Errorf(domain.EINTERNAL, "reading the document for %s: %v", ref.Key, err))
		}
	}
	done, err := d.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key),
		UploadId: mu.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	if err != nil {
		return abort(s3err(err, "completing the multipart upload of", ref))
	}
	return Object{Ref: Ref{Bucket: ref.Bucket, Key: ref.Key, Version: aws.ToString(done.VersionId)},
		SHA256: hex.EncodeToString(whole.Sum(nil)), Size: total, ContentType: contentType}, nil
}

// PartTimeout bounds the abort of a failed multipart upload.
const PartTimeout = 30 * time.Second
