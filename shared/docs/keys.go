package docs

import (
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Key layout. Every key starts with the tenant id.
//
//	uploads bucket
//	  <tenant>/<office>/<upload>/list.<ext>                the uploaded name list (ext: csv, xlsx, json)
//	documents bucket
//	  <tenant>/uploads/<upload>/report.json                validation report of the list
//	  <tenant>/batches/<batch>/<name>                      request.pdf, subjects.txt, segnatura.xml, request.eml (as sent)
//	  <tenant>/batches/<batch>/certificates/<subject>.pdf  one certificate per person (subject id: <upload>-<row>)
//	  <tenant>/batches/<batch>/certificates/<subject>.<sha256[:16]>.pdf  a further, different certificate for a certified person
//	  <tenant>/pec/<sha256[:2]>/<sha256>.eml               every raw PEC message read, by content: reading it again rewrites the same object
//	  <tenant>/pec/aside/<mailbox>/<uidvalidity>/<uid>.eml a message set aside unread (failing again and again), streamed as it is
//	  <tenant>/pec/aside/<mailbox>/<uidvalidity>/<uid>.hdr the header alone of a message too large to fetch

// UploadExts are the list formats an upload may have.
var UploadExts = []string{"csv", "xlsx", "json"}

// ValidUploadExt reports whether ext (lower case, no dot) is a list format.
func ValidUploadExt(ext string) bool {
	for _, e := range UploadExts {
		if e == ext {
			return true
		}
	}
	return false
}

// UploadKey is the key of an uploaded list.
func UploadKey(tenant, office, upload, ext string) string {
	return fmt.Sprintf("%s/%s/%s/list.%s", tenant, office, upload, strings.ToLower(ext))
}

// UploadKeyParts are the components of an upload key.
type UploadKeyParts struct{ Tenant, Office, Upload, Ext string }

// ParseUploadKey splits an upload key (from an S3 event) into its parts.
func ParseUploadKey(key string) (UploadKeyParts, error) {
	parts := strings.Split(key, "/")
	if len(parts) == 4 && partRE.MatchString(parts[0]) && partRE.MatchString(parts[1]) && domain.ValidID(parts[2]) {
		if ext, ok := strings.CutPrefix(parts[3], "list."); ok {
			for _, e := range UploadExts {
				if ext == e {
					return UploadKeyParts{Tenant: parts[0], Office: parts[1], Upload: parts[2], Ext: ext}, nil
				}
			}
		}
	}
	return UploadKeyParts{}, domain.Errorf(domain.EINVALID, "upload key %q: want <tenant>/<office>/<upload-id>/list.{csv,xlsx,json}", key)
}

// ReportKey is the key of the validation report of an upload.
func ReportKey(tenant, upload string) string {
	return fmt.Sprintf("%s/uploads/%s/report.json", tenant, upload)
}

// Fixed names of a batch's documents.
const (
	RequestPDF   = "request.pdf"
	SubjectsFile = "subjects.txt"
	Segnatura    = "segnatura.xml"
	SentMessage  = "request.eml"
)

// BatchKey is the key of one of a batch's documents (a fixed name above).
func BatchKey(tenant, batch, name string) string {
	return fmt.Sprintf("%s/batches/%s/%s", tenant, batch, name)
}

// CertificateKey is the key of the certificate of one subject of a batch.
func CertificateKey(tenant, batch, subject string) string {
	return fmt.Sprintf("%s/batches/%s/certificates/%s.pdf", tenant, batch, subject)
}

// CandidateKey is the key of a further certificate received for a subject
// already certified: kept beside the first, named by its content.
func CandidateKey(tenant, batch, subject, sha256hex string) string {
	if len(sha256hex) > 16 {
		sha256hex = sha256hex[:16]
	}
	return fmt.Sprintf("%s/batches/%s/certificates/%s.%s.pdf", tenant, batch, subject, sha256hex)
}

// MessageKey is the key of a raw PEC message, by the hex SHA-256 of its bytes.
func MessageKey(tenant, sha256hex string) string {
	if len(sha256hex) < 2 {
		return fmt.Sprintf("%s/pec/%s.eml", tenant, sha256hex)
	}
	return fmt.Sprintf("%s/pec/%s/%s.eml", tenant, sha256hex[:2], sha256hex)
}

// AsideKey is the key of a message set aside without being read: by its
// mailbox (a digest, mailboxID), UIDVALIDITY and UID; ext is "eml" for the
// whole message, "hdr" for its header alone.
func AsideKey(tenant, mailboxID string, uidValidity, uid uint32, ext string) string {
	return fmt.Sprintf("%s/pec/aside/%s/%d/%d.%s", tenant, mailboxID, uidValidity, uid, ext)
}
