package api

import (
	"encoding/json"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

// presignRequest asks for a URL to PUT a list too large for the API: a
// Lambda request carries at most 6 MB, a binary body in base64, so the page
// sends a list over direct_upload_max (4 MiB) this way.
type presignRequest struct {
	Office   string `json:"office"`
	FileName string `json:"file_name"`
	Size     int64  `json:"size"`
}

// presignAnswer is the recorded upload and how to PUT its list: the body is
// the file itself, exactly Size bytes, with every header in Headers.
type presignAnswer struct {
	Upload    uploadView        `json:"upload"`
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

// postPresign records an upload without its file and answers a presigned PUT
// of the file into the uploads bucket; the object's S3 event runs intake as
// for any upload, and GET /uploads/{id} follows it.
func (h *Handler) postPresign(w http.ResponseWriter, r *http.Request, u User) {
	var req presignRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", `Richiesta non valida: indicare {"office","file_name","size"} in JSON.`)
		return
	}
	office := strings.TrimSpace(req.Office)
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
	t, _, err := h.cfg.Tenants.Office(u.Tenant, office)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "Ufficio non configurato per questo Comune.")
		return
	}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(req.FileName)), ".")
	switch {
	case !s3docs.ValidUploadExt(ext):
		writeError(w, http.StatusBadRequest, "invalid", "Il nome del file deve terminare con .csv, .xlsx o .json.")
		return
	case req.Size <= 0:
		writeError(w, http.StatusBadRequest, "invalid", "Indicare la dimensione del file in byte.")
		return
	case req.Size > h.maxBytes():
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", tooLarge(h.maxBytes()))
		return
	case t.Protocol.Kind == tenants.ProtocolManual:
		// Every list then needs a number, and one number covers one request:
		// a list this large cannot be one.
		writeError(w, http.StatusBadRequest, "invalid", "Il Comune registra le richieste a mano: caricare elenchi più piccoli, ciascuno con il suo numero di protocollo.")
		return
	}
	p, err := uploads.Presign(r.Context(), h.cfg.Store, h.cfg.Docs, uploads.Submission{Tenant: u.Tenant, Office: office, Ext: ext,
		FileName: req.FileName, UploadedBy: u.Name}, req.Size, h.now(), domain.CauseUser(u.Name))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "api: upload URL given", "tenant", u.Tenant, "office", office, "upload", p.Upload.ID, "bytes", req.Size)
	w.Header().Set("Location", "/api/v1/uploads/"+p.Upload.ID)
	writeJSON(w, http.StatusCreated, presignAnswer{Upload: h.viewUpload(p.Upload), URL: p.Put.URL, Method: p.Put.Method,
		Headers: p.Put.Header, ExpiresAt: p.Put.ExpiresAt.UTC()})
}
