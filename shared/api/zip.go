package api

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/places"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/trace"
)

// The certificates of a list or of a request in one ZIP. A Lambda answer is
// at most 6 MB and 300 certificates are more, so the ZIP is written to the
// documents bucket (zips/, deleted after a day by the bucket's lifecycle)
// and the answer is a short-lived URL of it, as for one certificate. The
// same certificates make the same ZIP, which is then served again.

// zipFetchers bounds the certificates read at once while the ZIP is written.
const zipFetchers = 8

// maxCertificate bounds one certificate read into the ZIP.
const maxCertificate = 32 << 20

func (h *Handler) uploadZip(w http.ResponseWriter, r *http.Request, u User) {
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
	protocols := map[string]domain.Protocol{}
	for _, rq := range l.Requests {
		protocols[rq.Batch.ID] = rq.Batch.Protocol
	}
	h.serveZip(w, r, u, up.ID, "elenco "+up.ID, l.People, protocols)
}

func (h *Handler) batchZip(w http.ResponseWriter, r *http.Request, u User) {
	id := r.PathValue("id")
	if !domain.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", msgNotFound)
		return
	}
	b, err := h.cfg.Store.GetBatch(r.Context(), u.Tenant, id)
	if err == nil && !visible(u, b.Office) {
		err = domain.Errorf(domain.ENOTFOUND, "no such batch")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	people, err := h.cfg.Store.SubjectsOfBatch(r.Context(), u.Tenant, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.serveZip(w, r, u, b.ID, "richiesta "+b.ID, people, map[string]domain.Protocol{b.ID: b.Protocol})
}

// serveZip answers the URL of the ZIP of the certificates of people (owner:
// the list or request they are shown under) and files one audit event per
// certificate under its person's list.
func (h *Handler) serveZip(w http.ResponseWriter, r *http.Request, u User, owner, what string, people []domain.Subject, protocols map[string]domain.Protocol) {
	ctx := r.Context()
	var with []domain.Subject
	digest := sha256.New()
	for _, s := range people {
		if s.Certificate != nil && s.Certificate.Key != "" {
			with = append(with, s)
			fmt.Fprintf(digest, "%s %s\n", s.ID, s.Certificate.SHA256)
		}
	}
	if len(with) == 0 {
		writeError(w, http.StatusNotFound, "not_found", "Nessun certificato è ancora arrivato per questo elenco o questa richiesta.")
		return
	}
	ref := h.cfg.Docs.Document(s3docs.ZipKey(u.Tenant, owner, hex.EncodeToString(digest.Sum(nil))[:32]))
	if _, err := h.cfg.Docs.Head(ctx, ref); domain.ErrorCode(err) == domain.ENOTFOUND {
		if err := h.writeZip(ctx, ref, with, protocols); err != nil {
			h.fail(w, r, err)
			return
		}
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	// The audit entries before the URL: no certificate leaves without its trace.
	now := h.now().UTC()
	for _, s := range with {
		if err := h.cfg.Store.AppendEvent(ctx, domain.Event{Tenant: u.Tenant, Subject: s.Upload, About: s.ID, At: now,
			State: string(s.State), Note: domain.NoteDownloaded, Detail: "certificate of subject " + s.ID + " downloaded in the ZIP of " + what,
			Cause: domain.CauseUser(u.Name)}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	ttl := h.presignTTL()
	url, err := h.cfg.Docs.PresignGet(ctx, ref, ttl)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(ctx, "certificates downloaded as a ZIP", "tenant", u.Tenant, "of", owner, "count", len(with))
	writeJSON(w, http.StatusOK, map[string]any{"url": url, "expires_at": now.Add(ttl), "count": len(with)})
}

func (h *Handler) presignTTL() time.Duration {
	if h.cfg.PresignTTL > 0 {
		return h.cfg.PresignTTL
	}
	return 5 * time.Minute
}

// writeZip streams the ZIP into the bucket: certificates are read a few at
// a time and written in order, so memory stays bounded whatever the count.
func (h *Handler) writeZip(ctx context.Context, ref s3docs.Ref, people []domain.Subject, protocols map[string]domain.Protocol) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		data []byte
		err  error
	}
	results := make([]chan fetched, len(people))
	for i := range results {
		results[i] = make(chan fetched, 1)
	}
	sem := make(chan struct{}, zipFetchers)
	go func() {
		for i, s := range people {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				defer func() { <-sem }()
				rc, _, err := h.cfg.Docs.Get(ctx, h.cfg.Docs.Document(s.Certificate.Key))
				if err != nil {
					results[i] <- fetched{err: err}
					return
				}
				defer rc.Close()
				b, err := io.ReadAll(io.LimitReader(rc, maxCertificate+1))
				if err == nil && len(b) > maxCertificate {
					err = domain.Errorf(domain.ETOOLARGE, "certificate of subject %s is over %d bytes", s.ID, maxCertificate)
				}
				results[i] <- fetched{b, err}
			}()
		}
	}()
	pr, pw := io.Pipe()
	go func() {
		zw := zip.NewWriter(pw)
		names := map[string]int{}
		for i, s := range people {
			var f fetched
			select {
			case f = <-results[i]:
			case <-ctx.Done():
				pw.CloseWithError(ctx.Err())
				return
			}
			if f.err != nil {
				pw.CloseWithError(f.err)
				return
			}
			name := zipEntryName(s, protocols[s.Batch])
			if n := names[name]; n > 0 {
				name = strings.TrimSuffix(name, ".pdf") + fmt.Sprintf(" (%d).pdf", n+1)
			}
			names[name]++
			// PDFs are compressed already: stored, not deflated.
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: s.Certificate.ReceivedAt})
			if err == nil {
				_, err = fw.Write(f.data)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(zw.Close())
	}()
	_, err := h.cfg.Docs.PutStream(ctx, ref, "application/zip", pr, 0)
	_ = pr.CloseWithError(err) // stops the writer if the upload failed first
	return err
}

// zipEntryName names a certificate in the ZIP as the clerk looks for it:
// the request's number, the row and the person's name, in plain ASCII.
func zipEntryName(s domain.Subject, p domain.Protocol) string {
	prefix := "richiesta"
	if p.Number != "" {
		prefix = "prot-" + p.Number
	}
	return fmt.Sprintf("%s riga %d %s %s.pdf", prefix, s.Row, strings.ToUpper(places.Fold(s.Person.Surname)), strings.ToUpper(places.Fold(s.Person.Name)))
}
