package api

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/places"
)

// Search finds people by surname (a prefix, accents and case ignored) or
// codice fiscale, and requests by protocol number, among what the user may
// see. People are found by reading the lists of the user's offices, newest
// first, up to searchLists per office: the answer says whether every list
// was read.
const (
	searchLists   = 200
	searchResults = 100
	searchReaders = 8
)

var (
	searchProtocolRE = regexp.MustCompile(`^(?:([A-Za-z0-9_.]{1,16})-)?([0-9]{1,10})$`)
	searchFiscalRE   = regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
)

type searchPerson struct {
	personView
	FileName string       `json:"file_name"`
	Office   string       `json:"office"`
	Uploaded time.Time    `json:"uploaded_at"`
	Protocol protocolView `json:"protocol"`
}

// search takes its query in the body, never in the URL: a surname or a
// codice fiscale must not reach access logs, proxies or browser history.
func (h *Handler) search(w http.ResponseWriter, r *http.Request, u User) {
	var body struct {
		Q string `json:"q"`
	}
	if !readBody(w, r, &body) {
		return
	}
	q := strings.TrimSpace(body.Q)
	if (len([]rune(q)) < 2 && !searchProtocolRE.MatchString(q)) || len(q) > 100 {
		writeError(w, http.StatusBadRequest, "invalid", "Scrivere almeno due caratteri: un cognome, un codice fiscale o un numero di protocollo.")
		return
	}
	offices, err := h.offices(r, u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	out := map[string]any{"people": []searchPerson{}, "requests": []batchView{}, "complete": true}
	if m := searchProtocolRE.FindStringSubmatch(q); m != nil {
		reqs, err := h.requestsNumbered(ctx, u, offices, m[1], m[2])
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out["requests"] = reqs
		writeJSON(w, http.StatusOK, out)
		return
	}
	match := surnameMatcher(q)
	if searchFiscalRE.MatchString(q) {
		cf := strings.ToUpper(q)
		match = func(s domain.Subject) bool { return s.Person.FiscalCode == cf }
	}
	people, complete, err := h.peopleMatching(ctx, u, offices, match)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out["people"], out["complete"] = people, complete
	writeJSON(w, http.StatusOK, out)
}

// surnameMatcher matches a surname by prefix, or "surname name" by prefix.
func surnameMatcher(q string) func(domain.Subject) bool {
	fq := places.Fold(q)
	return func(s domain.Subject) bool {
		sur := places.Fold(s.Person.Surname)
		return strings.HasPrefix(sur, fq) || strings.HasPrefix(sur+" "+places.Fold(s.Person.Name), fq)
	}
}

// requestsNumbered returns the visible requests registered with number n
// (in the register code, when given), newest first.
func (h *Handler) requestsNumbered(ctx context.Context, u User, offices []string, code, n string) ([]batchView, error) {
	num, err := strconv.ParseInt(n, 10, 64)
	if err != nil || num <= 0 {
		return []batchView{}, nil
	}
	number := domain.FormatProtocolNumber(num)
	scope := offices
	if u.Protocol() {
		scope = []string{""} // the whole Comune in one listing
	}
	out := []batchView{}
	for _, o := range scope {
		bs, err := h.cfg.Store.ListBatches(ctx, u.Tenant, o, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if b.Protocol.Number == number && (code == "" || strings.EqualFold(code, b.Protocol.Register)) {
				out = append(out, h.viewBatch(b))
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// peopleMatching reads the people of the offices' lists, newest list first,
// and keeps those that match (at most searchResults).
func (h *Handler) peopleMatching(ctx context.Context, u User, offices []string, match func(domain.Subject) bool) ([]searchPerson, bool, error) {
	var lists []domain.Upload
	complete := true
	for _, o := range offices {
		ups, err := h.cfg.Store.ListUploads(ctx, u.Tenant, o, searchLists+1)
		if err != nil {
			return nil, false, err
		}
		if len(ups) > searchLists {
			ups, complete = ups[:searchLists], false
		}
		lists = append(lists, ups...)
	}
	sort.SliceStable(lists, func(i, j int) bool { return lists[i].CreatedAt.After(lists[j].CreatedAt) })

	found := make([][]domain.Subject, len(lists))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, searchReaders)
	for i, l := range lists {
		if l.Counts.Valid == 0 {
			continue // rejected, or nobody accepted: no people stored
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ss, err := h.cfg.Store.SubjectsOfUpload(ctx, u.Tenant, l.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			for _, s := range ss {
				if match(s) {
					found[i] = append(found[i], s)
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, false, first
	}

	out := []searchPerson{}
	protocols := map[string]domain.Protocol{}
	for i, ss := range found {
		for _, s := range ss {
			if len(out) == searchResults {
				return out, false, nil
			}
			p, ok := protocols[s.Batch]
			if !ok && s.Batch != "" {
				b, err := h.cfg.Store.GetBatch(ctx, u.Tenant, s.Batch)
				if err != nil {
					return nil, false, err
				}
				p, protocols[s.Batch] = b.Protocol, b.Protocol
			}
			out = append(out, searchPerson{personView: viewPeople([]domain.Subject{s})[0], FileName: lists[i].FileName,
				Office: lists[i].Office, Uploaded: lists[i].CreatedAt, Protocol: viewProtocol(p)})
		}
	}
	return out, complete, nil
}
