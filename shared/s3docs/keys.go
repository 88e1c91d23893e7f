package s3docs

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Key layout. Every key starts with the tenant id, but for the short-lived
// ZIPs under zips/ (the bucket's lifecycle deletes them after a day).
//
//	uploads bucket
//	  <tenant>/<office>/<upload>/list.<ext>                the uploaded name list (ext: csv, xlsx, json)
//	  <tenant>/<office>/<file name>.<ext>                  a list an office dropped with its own S3 client
//	documents bucket
//	  <tenant>/uploads/<upload>/report.json                validation report of the list
//	  <tenant>/uploads/<upload>/refused.{csv,xlsx}         its refused rows with their reasons
//	  <tenant>/batches/<batch>/<name>                      request.pdf, subjects.txt, segnatura.xml, request.eml (as sent)
//	  <tenant>/batches/<batch>/certificates/<subject>.pdf  one certificate per person (subject id: <upload>-<row>)
//	  <tenant>/batches/<batch>/certificates/<subject>.<sha256[:16]>.pdf  a further, different certificate for a certified person
//	  <tenant>/pec/<sha256[:2]>/<sha256>.eml               every raw PEC message read, by content: reading it again rewrites the same object
//	  <tenant>/pec/aside/<mailbox>/<uidvalidity>/<uid>.eml a message set aside unread (failing again and again), streamed as it is
//	  <tenant>/pec/aside/<mailbox>/<uidvalidity>/<uid>.hdr the header alone of a message too large to fetch
//	  zips/<tenant>/<list or request>/<digest>.zip         the certificates of a list or request, for one download

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
type UploadKeyParts struct {
	Tenant, Office, Ext string
	// Upload is the id the key carries; "" for a dropped file, whose id
	// intake derives (DropUploadID).
	Upload string
	// FileName is a dropped file's name ("elenco-marzo.csv"); "" otherwise.
	FileName string
}

// Dropped reports whether the key is a file dropped by an office's own tool.
func (p UploadKeyParts) Dropped() bool { return p.Upload == "" }

// MaxFileName bounds the name of a dropped file.
const MaxFileName = 255

// ParseUploadKey splits an upload key (from an S3 event) into its parts. Two
// layouts are lists: <tenant>/<office>/<upload-id>/list.<ext> (written by the
// API and the CLI), and <tenant>/<office>/<file name>.<ext> (a file an office
// or its scheduled job drops with any S3 client).
func ParseUploadKey(key string) (UploadKeyParts, error) {
	parts := strings.Split(key, "/")
	if len(parts) == 4 && partRE.MatchString(parts[0]) && partRE.MatchString(parts[1]) && domain.ValidID(parts[2]) {
		if ext, ok := strings.CutPrefix(parts[3], "list."); ok && ValidUploadExt(ext) {
			return UploadKeyParts{Tenant: parts[0], Office: parts[1], Upload: parts[2], Ext: ext}, nil
		}
	}
	if len(parts) == 3 && partRE.MatchString(parts[0]) && partRE.MatchString(parts[1]) && validFileName(parts[2]) {
		if i := strings.LastIndexByte(parts[2], '.'); i > 0 {
			if ext := strings.ToLower(parts[2][i+1:]); ValidUploadExt(ext) {
				return UploadKeyParts{Tenant: parts[0], Office: parts[1], Ext: ext, FileName: parts[2]}, nil
			}
		}
	}
	return UploadKeyParts{}, domain.Errorf(domain.EINVALID, "upload key: want <tenant>/<office>/<file name>.{csv,xlsx,json} or <tenant>/<office>/<upload-id>/list.{csv,xlsx,json}")
}

// validFileName accepts what a person names a file, without control
// characters and within MaxFileName bytes.
func validFileName(s string) bool {
	if s == "" || len(s) > MaxFileName || !utf8.ValidString(s) || strings.HasPrefix(s, ".") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// DropUploadID is the id of the upload of a dropped file: derived from its
// key, version and content, so that S3 delivering one event twice makes one
// upload, and a new version of the file a new one.
func DropUploadID(key, version, sha256hex string) string {
	sum := sha256.Sum256([]byte("drop|" + key + "|" + version + "|" + sha256hex))
	return idEncoding.EncodeToString(sum[:16])
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ReportKey is the key of the validation report of an upload.
func ReportKey(tenant, upload string) string {
	return fmt.Sprintf("%s/uploads/%s/report.json", tenant, upload)
}

// RefusedKey is the key of the refused rows of an upload (refused.csv), next
// to its report.
func RefusedKey(tenant, upload string) string {
	return fmt.Sprintf("%s/uploads/%s/refused.csv", tenant, upload)
}

// ZipPrefix is where the short-lived ZIPs of certificates go: the documents
// bucket's lifecycle deletes what is under it after a day.
const ZipPrefix = "zips/"

// ZipKey is the key of the ZIP of the certificates of a list or request
// (owner), named by a digest of what it holds.
func ZipKey(tenant, owner, digest string) string {
	return fmt.Sprintf("%s%s/%s/%s.zip", ZipPrefix, tenant, owner, digest)
}

// RefusedXLSXKey is the key of the refused rows of an upload as an Excel
// file the clerk corrects and uploads again (refused.xlsx).
func RefusedXLSXKey(tenant, upload string) string {
	return fmt.Sprintf("%s/uploads/%s/refused.xlsx", tenant, upload)
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
