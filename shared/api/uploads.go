package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/trace"
	"github.com/casellario-pec/casellario/shared/uploads"
	"github.com/casellario-pec/casellario/shared/validate"
)

// uploadAnswer is the answer to an upload: the stored upload and the
// validation of the list (the report of `casellario validate --json`, or
// {"error":{code,message}} when the file cannot be read as a list).
type uploadAnswer struct {
	Upload     uploadView `json:"upload"`
	Validation any        `json:"validation"`
}

var contentTypes = map[string]string{
	"csv":  "text/csv",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"json": "application/json",
}

// listExt decides the list format from the file name, else the content
// type, else the content (namelist sniffs the content again when reading).
func listExt(name, ctype string, data []byte) string {
	if e := strings.TrimPrefix(strings.ToLower(path.Ext(name)), "."); s3docs.ValidUploadExt(e) {
		return e
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	for e, t := range contentTypes {
		if mt == t {
			return e
		}
	}
	switch {
	case mt == "application/vnd.ms-excel" && bytes.HasPrefix(data, []byte("PK")):
		return "xlsx"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "xlsx"
	case mt == "text/plain" || mt == "application/csv" || mt == "text/comma-separated-values" || mt == "application/vnd.ms-excel":
		return "csv"
	}
	trim := bytes.TrimSpace(data)
	if len(trim) > 0 && (trim[0] == '[' || trim[0] == '{') {
		return "json"
	}
	return "csv"
}

func (h *Handler) maxBytes() int64 {
	if h.cfg.Read.MaxBytes > 0 {
		return h.cfg.Read.MaxBytes
	}
	return namelist.DefaultMaxBytes
}

// postUpload stores a list (multipart field "file", or the raw body) under
// s3docs.UploadKey, validates it for the answer; the S3 notification runs intake.
func (h *Handler) postUpload(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	office := q.Get("office")
	var name, ctype string
	var data []byte
	limit := h.maxBytes()
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20) // room for the multipart envelope
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	protoNum, protoDate := q.Get("protocol_number"), q.Get("protocol_date")
	readErr := func(err error) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", tooLarge(limit))
			return
		}
		writeError(w, http.StatusBadRequest, "invalid", "Impossibile leggere il file inviato.")
	}
	if mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid", "Richiesta non valida: modulo multipart illeggibile.")
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr(err)
				return
			}
			switch p.FormName() {
			case "file":
				name, ctype = p.FileName(), p.Header.Get("Content-Type")
				if data, err = io.ReadAll(p); err != nil {
					readErr(err)
					return
				}
			case "office", "protocol_number", "protocol_date":
				b, err := io.ReadAll(io.LimitReader(p, 256))
				if err != nil {
					readErr(err)
					return
				}
				switch p.FormName() {
				case "office":
					if office == "" {
						office = strings.TrimSpace(string(b))
					}
				case "protocol_number":
					protoNum = strings.TrimSpace(string(b))
				case "protocol_date":
					protoDate = strings.TrimSpace(string(b))
				}
			}
		}
		if data == nil {
			writeError(w, http.StatusBadRequest, "invalid", "Nessun file allegato: scegliere l'elenco da caricare (campo «file»).")
			return
		}
	} else {
		var err error
		if data, err = io.ReadAll(r.Body); err != nil {
			readErr(err)
			return
		}
		ctype, name = r.Header.Get("Content-Type"), q.Get("filename")
	}
	if int64(len(data)) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", tooLarge(limit))
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		writeError(w, http.StatusBadRequest, "invalid", "Il file è vuoto.")
		return
	}
	switch {
	case !u.Protocol():
		if office != "" && office != u.Office {
			writeError(w, http.StatusForbidden, "forbidden", "Si possono caricare elenchi solo per il proprio ufficio.")
			return
		}
		office = u.Office
	case office == "":
		writeError(w, http.StatusBadRequest, "invalid", "Indicare l'ufficio per cui si carica l'elenco.")
		return
	}
	if _, _, err := h.cfg.Tenants.Office(u.Tenant, office); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Ufficio non configurato per questo Comune.")
		return
	}
	manual, err := uploads.ParseManual(protoNum, protoDate)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if manual != nil && !u.Protocol() {
		writeError(w, http.StatusForbidden, "forbidden", domain.ReasonManualNotAllowed.Italian())
		return
	}
	ext := listExt(name, ctype, data)
	key := name
	if key == "" {
		key = "elenco." + ext
	}

	// Validate first (the answer), then store: intake validates again.
	today := domain.DateOf(h.now().In(rome()))
	var validation any
	rep, verr := validate.File(key, bytes.NewReader(data), validate.Options{Today: today, Read: h.cfg.Read})
	if verr != nil {
		var re *namelist.ReadError
		if !errors.As(verr, &re) {
			h.fail(w, r, verr)
			return
		}
		var b errorBody
		b.Error.Code, b.Error.Message = re.Code, re.Message
		validation = b
	} else {
		validation = rep
	}
	// Recorded before the answer: its Location answers at once.
	up, err := uploads.Submit(r.Context(), h.cfg.Store, h.cfg.Docs, uploads.Submission{Tenant: u.Tenant, Office: office, Ext: ext,
		FileName: name, UploadedBy: u.Name, Protocol: manual, Data: data}, domain.CauseUser(u.Name))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "api: list uploaded", "tenant", u.Tenant, "office", office, "upload", up.ID, "bytes", len(data))
	if rep != nil {
		up.Counts = domain.Counts{Rows: rep.Summary.Rows, Valid: rep.Summary.Valid, Invalid: rep.Summary.Invalid, Duplicates: rep.Summary.Duplicates}
	}
	w.Header().Set("Location", "/api/v1/uploads/"+up.ID)
	writeJSON(w, http.StatusCreated, uploadAnswer{Upload: h.viewUpload(up), Validation: validation})
}

func tooLarge(limit int64) string {
	return "Il file supera la dimensione massima consentita (" + itoa(int(limit>>20)) + " MB)."
}

func itoa(n int) string { return strconv.Itoa(n) }

func (h *Handler) listUploads(w http.ResponseWriter, r *http.Request, u User) {
	offices, err := h.offices(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cursor, limit, ok := pageOf(w, r)
	if !ok {
		return
	}
	// One page per office, merged: the cursor is a time and an id, the same for every office.
	var all []domain.Upload
	for _, o := range offices {
		var ups []domain.Upload
		if cursor == "" {
			ups, err = h.cfg.Store.ListUploads(r.Context(), u.Tenant, o, limit+1)
		} else {
			ups, err = h.cfg.Store.UploadsBefore(r.Context(), u.Tenant, o, cursor, limit+1)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		all = append(all, ups...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Cursor() > all[j].Cursor() })
	next := ""
	if len(all) > limit {
		all, next = all[:limit], all[limit-1].Cursor()
	}
	out := make([]uploadView, 0, len(all))
	for _, up := range all {
		out = append(out, h.viewUpload(up))
	}
	writeJSON(w, http.StatusOK, map[string]any{"uploads": out, "next": next})
}

// Listings come in pages: ?limit= (default defaultPage, at most maxPage)
// and ?cursor= (the previous answer's next).
const (
	defaultPage = 50
	maxPage     = 200
)

// pageOf reads a listing's page; a bad one is answered 400.
func pageOf(w http.ResponseWriter, r *http.Request) (cursor string, limit int, ok bool) {
	q := r.URL.Query()
	limit = defaultPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			writeError(w, http.StatusBadRequest, "invalid", "Parametro limit non valido: un numero da 1 a "+itoa(maxPage)+".")
			return "", 0, false
		}
		limit = n
	}
	cursor = q.Get("cursor")
	if cursor != "" && !cursorRE.MatchString(cursor) {
		writeError(w, http.StatusBadRequest, "invalid", "Parametro cursor non valido: usare il valore «next» della risposta precedente.")
		return "", 0, false
	}
	return cursor, limit, true
}

// cursorRE is a listing's cursor (domain.ListCursor).
var cursorRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#[a-z2-7]{26}$`)

// upload reads an upload the user may see; anything else is ENOTFOUND.
func (h *Handler) upload(r *http.Request, u User) (domain.Upload, error) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		return domain.Upload{}, domain.Errorf(domain.ENOTFOUND, "no such upload")
	}
	up, err := h.cfg.Store.GetUpload(r.Context(), u.Tenant, id)
	if err != nil {
		return up, err
	}
	if !visible(u, up.Office) {
		return domain.Upload{}, domain.Errorf(domain.ENOTFOUND, "no such upload")
	}
	return up, nil
}

func (h *Handler) getUpload(w http.ResponseWriter, r *http.Request, u User) {
	up, err := h.upload(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := trace.OfUpload(r.Context(), h.cfg.Store, u.Tenant, up.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	requests := make([]listRequestView, 0, len(l.Requests))
	for _, rq := range l.Requests {
		requests = append(requests, listRequestView{h.viewBatch(rq.Batch), rq.People})
	}
	writeJSON(w, http.StatusOK, map[string]any{"upload": h.viewUpload(l.Upload), "requests": requests,
		"people": viewPeople(l.People), "events": viewEvents(l.Events)})
}

func (h *Handler) getReport(w http.ResponseWriter, r *http.Request, u User) {
	h.serveUploadDoc(w, r, u, s3docs.ReportKey, "application/json", "rapporto")
}

func (h *Handler) getRefused(w http.ResponseWriter, r *http.Request, u User) {
	h.serveUploadDoc(w, r, u, s3docs.RefusedKey, "text/csv; charset=utf-8", "righe-scartate")
}

func (h *Handler) getRefusedXLSX(w http.ResponseWriter, r *http.Request, u User) {
	h.serveUploadDoc(w, r, u, s3docs.RefusedXLSXKey, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "righe-da-correggere")
}

// serveUploadDoc answers a document intake wrote for an upload.
func (h *Handler) serveUploadDoc(w http.ResponseWriter, r *http.Request, u User, key func(tenant, upload string) string, ctype, base string) {
	up, err := h.upload(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, _, err := h.cfg.Docs.GetBytes(r.Context(), h.cfg.Docs.Document(key(u.Tenant, up.ID)))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		msg := "Il rapporto non è ancora pronto: riprovare tra qualche secondo."
		if up.State != domain.UploadReceived {
			msg = "Documento non disponibile per questo elenco."
		}
		writeError(w, http.StatusNotFound, "not_found", msg)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+base+"-"+up.ID+path.Ext(key(u.Tenant, up.ID))+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
