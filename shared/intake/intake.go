// Package intake handles a name list uploaded by an office (an S3
// ObjectCreated event on the uploads bucket): it validates the list with
// shared/validate, stores the valid people as pending subjects of the office,
// writes the validation report next to the upload in the documents bucket and
// tells the office (a notice.Event to the Publisher).
//
// # Idempotency
//
// A list written by the API or the CLI carries its upload id in its key
// (<tenant>/<office>/<upload>/list.<ext>, s3docs.UploadKey), and its upload
// was recorded before the object (shared/uploads): intake completes that
// record. A file an office drops (<tenant>/<office>/<file name>.<ext>) gets
// an id derived from its key, version and content (s3docs.DropUploadID). Either
// way the same object delivered twice maps to the same upload: CreateUpload
// returns the stored one, and an upload that is no longer "received" (queued
// or rejected already) is left as it is. An upload found "received" (a crash
// half-way) is processed again: subjects and report are rewritten with the
// same content. A different object version under a key whose upload exists
// already is refused (logged; the first version counts).
//
// # Documents written
//
//	<tenant>/uploads/<upload>/report.json   the report of `casellario validate --json`
//	                                        ({"error":{"code","message"}} when the file is unreadable)
//	<tenant>/uploads/<upload>/refused.csv   the refused rows as written in the list, with the reason in
//	                                        Italian: UTF-8 with BOM, ';' separated, CRLF, cells that a
//	                                        spreadsheet would read as formulas prefixed with "'"
//	<tenant>/uploads/<upload>/refused.xlsx  the same as an Excel file the clerk corrects and uploads again
//
// # Manual protocol numbers
//
// Only the protocol office gives a number by hand, through the API or the
// CLI, which record it (claimed: no number twice in a year) on the upload
// before its object. A protocol number in an object's metadata (a file
// dropped with one) is refused. An upload with a number forms a batch of its
// own: its valid people must fit one batch (the tenant's batch size), else it
// is rejected. A tenant whose register is "manual" must have a number on
// every upload. A dropped file may name its uploader in
// uploads.MetaUploadedBy.
//
// Nothing here logs names, birth dates or fiscal codes: logs carry ids,
// counts and codes only.
package intake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/leases"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
	"github.com/casellario-pec/casellario/shared/validate"
)

// Handler processes uploaded lists. Store, Docs and Tenants are required.
type Handler struct {
	Store   domain.Store
	Docs    *s3docs.Docs
	Tenants *tenants.Config
	Notify  notice.Publisher // nil: nobody is told
	Log     *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now
	Read    namelist.Options // size limits
	// LeaseTTL is how long an upload's lease outlives a crashed intake
	// (leases.DefaultTTL when 0); it is renewed while intake works.
	LeaseTTL time.Duration
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

var rome = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
})

// HandleS3 processes the ObjectCreated records of an S3 event. Records that
// can never succeed (a key that is not an upload key, an unknown office, a
// reused upload id) are logged and skipped; it returns an error only for
// failures worth a retry (AWS or store errors), after trying every record.
func (h *Handler) HandleS3(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, r := range ev.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated") && r.EventName != "" {
			continue
		}
		key := r.S3.Object.URLDecodedKey
		if key == "" {
			k, err := url.QueryUnescape(r.S3.Object.Key)
			if err != nil {
				h.log().WarnContext(ctx, "undecodable object key in S3 event")
				continue
			}
			key = k
		}
		version := r.S3.Object.VersionID
		_, err := h.Process(ctx, key, version, domain.CauseS3(key, version))
		switch domain.ErrorCode(err) {
		case "", domain.EINVALID, domain.ENOTFOUND, domain.ECONFLICT, domain.ETOOLARGE:
			// done, or never going to succeed: logged by Process
		case domain.EBUSY:
			// Another intake holds the upload: retried (Lambda's retries of
			// an S3 event come within minutes; the sweep catches the rest).
			errs = append(errs, err)
		default:
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Process handles one object of the uploads bucket (see the package doc) and
// returns the upload as stored. Errors with code EINVALID (not an upload key),
// ENOTFOUND (object gone) and ECONFLICT (upload id reused) are final; EBUSY
// (another run is taking the same upload in now) and other errors are worth a
// retry.
func (h *Handler) Process(ctx context.Context, key, version string, cause domain.Cause) (domain.Upload, error) {
	log := h.log()
	parts, err := s3docs.ParseUploadKey(key)
	if err != nil {
		// The key may hold a clerk's file name, which may name a person: not logged.
		log.WarnContext(ctx, "object is not an upload key; ignored", "key_bytes", len(key))
		return domain.Upload{}, err
	}
	log = log.With("tenant", parts.Tenant, "office", parts.Office, "dropped", parts.Dropped())
	ref := h.Docs.Upload(key)
	ref.Version = version
	data, obj, sum, err := h.fetch(ctx, ref)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			log.WarnContext(ctx, "uploaded object not found; ignored", "version", version)
		}
		return domain.Upload{}, err
	}
	if version == "" {
		version = obj.Version
	}
	u := domain.Upload{ID: parts.Upload, Tenant: parts.Tenant, Office: parts.Office, Key: key, ObjectVersion: version,
		SHA256: sum, UploadedBy: cleanUser(uploads.ReadMetaValue(obj.Metadata[uploads.MetaUploadedBy])), FileName: parts.FileName}
	if parts.Dropped() {
		u.ID = s3docs.DropUploadID(key, version, sum)
	} else if rec, err := h.Store.GetUpload(ctx, u.Tenant, u.ID); err == nil {
		// Recorded by the API or the CLI: what they recorded stands.
		u.UploadedBy, u.FileName, u.Protocol = rec.UploadedBy, rec.FileName, rec.Protocol
	} else if domain.ErrorCode(err) != domain.ENOTFOUND {
		return domain.Upload{}, err
	}
	log = log.With("upload", u.ID)
	u, err = h.Store.CreateUpload(ctx, u, cause)
	if err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			log.WarnContext(ctx, "upload id used already by another object version; ignored", "version", version)
		} else {
			log.ErrorContext(ctx, "recording the upload", "err", err)
		}
		return domain.Upload{}, err
	}
	// S3 may deliver one event twice at once: one intake per upload at a time, so
	// that a late twin never rewrites people that dispatch already took.
	// The lease is short and renewed while this run works, so that a run that
	// crashed leaves the upload to the next one within minutes.
	held, ctx, err := leases.Acquire(ctx, h.Store, u.Tenant, "intake-"+u.ID, "intake-"+domain.NewID(), h.LeaseTTL, log)
	if err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			log.InfoContext(ctx, "the same upload is being taken in by another run; retried later")
			return u, &domain.Error{Code: domain.EBUSY, Message: "upload " + u.ID + " is being taken in by another run", Err: err}
		}
		return u, err
	}
	defer held.Release()
	if u, err = h.Store.GetUpload(ctx, u.Tenant, u.ID); err != nil { // as the twin may have left it
		return u, err
	}
	if u.State != domain.UploadReceived {
		log.InfoContext(ctx, "upload processed already", "state", u.State)
		return u, nil
	}
	t, _, err := h.Tenants.Office(parts.Tenant, parts.Office)
	if err != nil {
		log.WarnContext(ctx, "unknown tenant or office; upload rejected")
		return h.reject(ctx, u, nil, domain.Because(domain.ReasonUnknownOffice, "unknown tenant or office"), errorReport("office", domain.ReasonUnknownOffice.Italian()), cause)
	}

	if data == nil { // over the size limit: not read
		return h.reject(ctx, u, nil, domain.Because(domain.ReasonFileTooLarge, "over the size limit"), errorReport(namelist.CodeTooLarge, tooLargeMessage(h.Read)), cause)
	}
	manual := u.Protocol
	if manual == nil && (obj.Metadata[uploads.MetaProtocolNumber] != "" || obj.Metadata[uploads.MetaProtocolDate] != "") {
		return h.reject(ctx, u, nil, domain.Because(domain.ReasonManualNotAllowed, "a protocol number in the object's metadata"), errorReport("protocol",
			"Il numero di protocollo si indica solo dalla pagina o dall'interfaccia dell'ufficio protocollo, non nei metadati del file."), cause)
	}
	if manual == nil && t.Protocol.Kind == tenants.ProtocolManual {
		return h.reject(ctx, u, nil, domain.Because(domain.ReasonNoManualProtocol, "manual register: no protocol number supplied"), errorReport("protocol",
			"Il Comune registra le richieste a mano: caricare l'elenco indicando numero e data di protocollo."), cause)
	}

	today := domain.DateOf(h.now().In(rome()))
	rep, err := validate.File(key, bytes.NewReader(data), validate.Options{Today: today, Read: h.Read})
	if err != nil {
		var re *namelist.ReadError
		if errors.As(err, &re) {
			return h.reject(ctx, u, nil, domain.Because(domain.ReasonUnreadableList, re.Code), errorReport(re.Code, re.Message), cause)
		}
		log.ErrorContext(ctx, "reading the list", "err", err)
		return h.reject(ctx, u, nil, domain.Because(domain.ReasonUnreadableList, "read error"), errorReport("read", "Errore di lettura del file."), cause)
	}
	counts := domain.Counts{Rows: rep.Summary.Rows, Valid: rep.Summary.Valid, Invalid: rep.Summary.Invalid, Duplicates: rep.Summary.Duplicates}
	if rep.Summary.Rows == 0 {
		return h.reject(ctx, u, &counts, domain.Because(domain.ReasonNoRows, "no data rows"), errorReport("empty",
			"Il file non contiene nominativi: dopo la riga di intestazione non c'è alcuna riga compilata"), cause)
	}
	reportKey, err := h.writeReport(ctx, u, rep, data)
	if err != nil {
		return domain.Upload{}, err
	}
	batchSize := t.BatchSize
	if batchSize <= 0 {
		batchSize = tenants.DefaultBatchSize
	}
	switch {
	case rep.Summary.Valid == 0:
		return h.advance(ctx, u, domain.UploadRejected, &counts, reportKey, domain.Because(domain.ReasonNoValidRow, "no valid row"), cause)
	case manual != nil && rep.Summary.Valid > batchSize:
		// The report says which rows are wrong; the reason says why nothing goes.
		return h.advance(ctx, u, domain.UploadRejected, &counts, reportKey, domain.Because(domain.ReasonManualTooMany,
			fmt.Sprintf("manual protocol number: %d valid people do not fit one request of %d", rep.Summary.Valid, batchSize)), cause)
	}
	people := make([]domain.Subject, 0, rep.Summary.Valid)
	for _, r := range rep.Rows {
		if r.Valid {
			people = append(people, domain.Subject{ID: domain.SubjectID(u.ID, r.Row), Tenant: u.Tenant, Office: u.Office,
				Upload: u.ID, Row: r.Row, Person: r.Person, State: domain.PersonPending})
		}
	}
	h.warnRepeats(ctx, t, u, people)
	if err := h.Store.PutSubjects(ctx, u.Tenant, u.ID, people); err != nil {
		log.ErrorContext(ctx, "writing the subjects", "err", err)
		return domain.Upload{}, err
	}
	return h.advance(ctx, u, domain.UploadQueued, &counts, reportKey, domain.Reason{}, cause)
}

// fetch reads the object: its bytes (nil when over the size limit), its
// description and its SHA-256 (hex).
func (h *Handler) fetch(ctx context.Context, ref s3docs.Ref) ([]byte, s3docs.Object, string, error) {
	body, obj, err := h.Docs.Get(ctx, ref)
	if err != nil {
		return nil, obj, "", err
	}
	defer body.Close()
	limit := h.Read.MaxBytes
	if limit <= 0 {
		limit = namelist.DefaultMaxBytes
	}
	hash := sha256.New()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.TeeReader(io.LimitReader(body, limit+1), hash))
	if err == nil && n > limit {
		// Too large to validate: hash the rest without keeping it.
		_, err = io.Copy(hash, body)
		buf = bytes.Buffer{}
	}
	if err != nil {
		e := domain.Errorf(domain.EINTERNAL, "reading upload %s", ref.Key)
		e.Err = err
		return nil, obj, "", e
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	if obj.SHA256 != "" && obj.SHA256 != sum {
		return nil, obj, "", domain.Errorf(domain.EINTERNAL, "upload %s does not match its recorded SHA-256", ref.Key)
	}
	if n > limit {
		return nil, obj, sum, nil
	}
	return buf.Bytes(), obj, sum, nil
}

func tooLargeMessage(o namelist.Options) string {
	mb := o.MaxBytes
	if mb <= 0 {
		mb = namelist.DefaultMaxBytes
	}
	return fmt.Sprintf("Il file supera la dimensione massima consentita (%d MB).", mb>>20)
}

// cleanUser keeps a user name printable and short.
func cleanUser(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// errorReport is the report of a file that cannot be read, as `validate --json` prints it.
func errorReport(code, message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": message}})
	return append(b, '\n')
}

// reject writes the error report and rejects the upload.
func (h *Handler) reject(ctx context.Context, u domain.Upload, counts *domain.Counts, reason domain.Reason, report []byte, cause domain.Cause) (domain.Upload, error) {
	key := s3docs.ReportKey(u.Tenant, u.ID)
	if _, err := h.Docs.Put(ctx, h.Docs.Document(key), "application/json", bytes.NewReader(report)); err != nil {
		h.log().ErrorContext(ctx, "writing the report", "upload", u.ID, "err", err)
		return domain.Upload{}, err
	}
	return h.advance(ctx, u, domain.UploadRejected, counts, key, reason, cause)
}

func (h *Handler) advance(ctx context.Context, u domain.Upload, to domain.UploadState, counts *domain.Counts, reportKey string, reason domain.Reason, cause domain.Cause) (domain.Upload, error) {
	out, err := h.Store.AdvanceUpload(ctx, u.Tenant, u.ID, to, counts, reportKey, reason, cause)
	if err != nil {
		h.log().ErrorContext(ctx, "recording the outcome", "upload", u.ID, "state", to, "err", err)
		return domain.Upload{}, err
	}
	h.log().InfoContext(ctx, "upload processed", "tenant", out.Tenant, "office", out.Office, "upload", out.ID,
		"state", out.State, "rows", out.Counts.Rows, "valid", out.Counts.Valid, "invalid", out.Counts.Invalid, "reason", out.Reason.String())
	h.notify(ctx, out)
	return out, nil
}

// notify tells the office how its list went.
func (h *Handler) notify(ctx context.Context, out domain.Upload) {
	if h.Notify == nil {
		return
	}
	ev := notice.Event{Kind: notice.ListReceived, Tenant: out.Tenant, Office: out.Office, Upload: out.ID, Counts: out.Counts}
	if out.State == domain.UploadRejected {
		ev.Kind, ev.Reason = notice.ListRejected, out.Reason.Code
	}
	if err := h.Notify.Publish(ctx, ev); err != nil {
		// The upload is recorded; a lost notice is not worth a retry of the whole intake.
		h.log().WarnContext(ctx, "notifying the office", "upload", out.ID, "err", err)
	}
}

// writeReport stores report.json and, when some rows are refused, refused.csv and refused.xlsx.
func (h *Handler) writeReport(ctx context.Context, u domain.Upload, rep *validate.Report, data []byte) (string, error) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return "", domain.Errorf(domain.EINTERNAL, "encoding the report of upload %s", u.ID)
	}
	key := s3docs.ReportKey(u.Tenant, u.ID)
	if _, err := h.Docs.Put(ctx, h.Docs.Document(key), "application/json", &js); err != nil {
		h.log().ErrorContext(ctx, "writing the report", "upload", u.ID, "err", err)
		return "", err
	}
	if rep.Summary.Invalid > 0 {
		rows, err := refusedRows(u.Key, data, rep, h.Read)
		if err != nil {
			return "", domain.Errorf(domain.EINTERNAL, "reading the refused rows of upload %s again: %v", u.ID, err)
		}
		xlsx, err := rows.xlsx()
		if err != nil {
			return "", domain.Errorf(domain.EINTERNAL, "writing the refused rows of upload %s: %v", u.ID, err)
		}
		for _, doc := range []struct {
			key, ctype string
			body       []byte
		}{
			{s3docs.RefusedKey(u.Tenant, u.ID), "text/csv; charset=utf-8", rows.csv()},
			{s3docs.RefusedXLSXKey(u.Tenant, u.ID), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx},
		} {
			if _, err := h.Docs.Put(ctx, h.Docs.Document(doc.key), doc.ctype, bytes.NewReader(doc.body)); err != nil {
				h.log().ErrorContext(ctx, "writing the refused rows", "upload", u.ID, "err", err)
				return "", err
			}
		}
	}
	return key, nil
}
