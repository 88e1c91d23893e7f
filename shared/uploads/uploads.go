// Package uploads is how a list enters the system through the API or the
// CLI: the upload's record first (so that it exists as soon as the clerk is
// answered), the number the protocol office gave claimed for it (no number
// twice in a year), then the object, whose S3 event runs intake. Intake and
// the sweep read what was recorded here.
package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/protocol"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// Object metadata names (S3 user metadata, x-amz-meta-*). Values never
// carry personal data. A protocol number in an object's metadata is refused
// by intake: only the protocol office gives one, through the API or the CLI.
const (
	MetaUploadedBy     = "uploaded-by"     // user name of the clerk
	MetaProtocolNumber = "protocol-number" // refused (see above)
	MetaProtocolDate   = "protocol-date"   // refused (see above)
)

// ContentTypes of the list formats.
var ContentTypes = map[string]string{
	"csv":  "text/csv",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"json": "application/json",
}

// ParseManual reads a protocol number and date (YYYY-MM-DD) the protocol
// office typed: nil when both are empty; errors in Italian, for users.
func ParseManual(number, date string) (*domain.Protocol, error) {
	n, d := strings.TrimSpace(number), strings.TrimSpace(date)
	if n == "" && d == "" {
		return nil, nil
	}
	num, ok := protocol.Normalize(n)
	if !ok {
		return nil, domain.Userf(domain.EINVALID, "Numero di protocollo %q non valido: indicare solo cifre.", n)
	}
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return nil, domain.Userf(domain.EINVALID, "Data di protocollo %q non valida: indicarla come AAAA-MM-GG.", d)
	}
	return &domain.Protocol{Number: num, Date: domain.DateOf(t)}, nil
}

// Submission is a list someone hands in.
type Submission struct {
	Tenant, Office string
	Ext            string // csv, xlsx, json
	FileName       string // as the clerk named it (shown on the page and in e-mails)
	UploadedBy     string
	Protocol       *domain.Protocol // the protocol office's number, when it gave one
	Data           []byte
}

// Submit records the upload, claims its manual number and stores the object
// (see the package doc). A number another upload has is ECONFLICT, with a
// message for users; nothing is written then.
func Submit(ctx context.Context, st domain.UploadStore, d *s3docs.Docs, s Submission, cause domain.Cause) (domain.Upload, error) {
	if !s3docs.ValidUploadExt(s.Ext) {
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "list format %q", s.Ext)
	}
	sum := sha256.Sum256(s.Data)
	u, err := Record(ctx, st, s, hex.EncodeToString(sum[:]), cause)
	if err != nil {
		return domain.Upload{}, err
	}
	meta := map[string]string{MetaUploadedBy: MetaValue(s.UploadedBy)}
	if _, err := d.PutWithMetadata(ctx, d.Upload(u.Key), ContentTypes[s.Ext], bytes.NewReader(s.Data), meta); err != nil {
		// The record must not wait for a file that will not come.
		if _, rerr := st.AdvanceUpload(context.WithoutCancel(ctx), u.Tenant, u.ID, domain.UploadRejected, nil, "",
			domain.Because(domain.ReasonUploadNotProcessed, "its file could not be stored"), cause); rerr != nil {
			return domain.Upload{}, err
		}
		return domain.Upload{}, err
	}
	return u, nil
}

// Record writes the record of an upload whose object is still to come (its
// key is s3docs.UploadKey with a new id), claiming its manual number first.
// sha256hex is the hash of the content, "" when it is not known yet (a
// presigned PUT): intake completes the record when it reads the object.
// s.Data is not used. A number another upload has is ECONFLICT, with a
// message for users; nothing is written then.
func Record(ctx context.Context, st domain.UploadStore, s Submission, sha256hex string, cause domain.Cause) (domain.Upload, error) {
	if !s3docs.ValidUploadExt(s.Ext) {
		return domain.Upload{}, domain.Errorf(domain.EINVALID, "list format %q", s.Ext)
	}
	u := domain.Upload{ID: domain.NewID(), Tenant: s.Tenant, Office: s.Office, SHA256: sha256hex,
		UploadedBy: s.UploadedBy, FileName: cleanName(s.FileName), Protocol: s.Protocol}
	u.Key = s3docs.UploadKey(s.Tenant, s.Office, u.ID, s.Ext)
	if s.Protocol != nil {
		err := st.ClaimManualProtocol(ctx, s.Tenant, *s.Protocol, u.ID)
		if domain.ErrorCode(err) == domain.ECONFLICT {
			return domain.Upload{}, domain.Userf(domain.ECONFLICT, "Il numero di protocollo %s del %d è già stato usato per un altro elenco.",
				s.Protocol.Number, s.Protocol.Date.Year)
		}
		if err != nil {
			return domain.Upload{}, err
		}
	}
	return st.CreateUpload(ctx, u, cause)
}

// PresignTTL is how long a presigned upload URL lives.
const PresignTTL = 15 * time.Minute

// Presigned is a recorded upload and the URL its list is to be PUT to.
type Presigned struct {
	Upload domain.Upload
	Put    s3docs.PresignedPut
}

// Presign records an upload of size bytes (Record, without its SHA-256) and
// returns a presigned PUT of its object (exactly size bytes, within
// PresignTTL); the object's S3 event runs intake, as for Submit. It is for
// lists too large to pass through the API; the caller bounds size by the
// intake's limit.
func Presign(ctx context.Context, st domain.UploadStore, d *s3docs.Docs, s Submission, size int64, now time.Time, cause domain.Cause) (Presigned, error) {
	if !s3docs.ValidUploadExt(s.Ext) {
		return Presigned{}, domain.Errorf(domain.EINVALID, "list format %q", s.Ext)
	}
	if size <= 0 {
		return Presigned{}, domain.Errorf(domain.EINVALID, "list size %d", size)
	}
	u, err := Record(ctx, st, s, "", cause)
	if err != nil {
		return Presigned{}, err
	}
	p, err := d.PresignPut(ctx, d.Upload(u.Key), ContentTypes[s.Ext], size, map[string]string{MetaUploadedBy: MetaValue(s.UploadedBy)}, PresignTTL, now)
	if err != nil {
		// Nothing can come to this record now: the office hears of it.
		if _, rerr := st.AdvanceUpload(context.WithoutCancel(ctx), u.Tenant, u.ID, domain.UploadRejected, nil, "",
			domain.Because(domain.ReasonUploadNotProcessed, "its upload URL could not be made"), cause); rerr != nil {
			return Presigned{}, err
		}
		return Presigned{}, err
	}
	return Presigned{Upload: u, Put: p}, nil
}

// cleanName keeps a file name printable, without folders, at most
// s3docs.MaxFileName bytes.
func cleanName(s string) string {
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	for len(s) > s3docs.MaxFileName {
		s = s[:len(s)-1]
	}
	return strings.ToValidUTF8(s, "")
}

// MetaValue is a user metadata value as S3 carries it: an HTTP header, so
// ASCII only (a browser refuses to send «Niccolò» in a header, and a signed
// value must arrive byte for byte); ReadMetaValue undoes it.
func MetaValue(s string) string { return url.PathEscape(s) }

// ReadMetaValue reads a value MetaValue wrote; a value written otherwise (an
// office's own tool) is taken as it is.
func ReadMetaValue(s string) string {
	if v, err := url.PathUnescape(s); err == nil {
		return v
	}
	return s
}
