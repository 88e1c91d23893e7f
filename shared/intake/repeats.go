package intake

import (
	"context"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// repeatLists bounds the office's lists read for repeated requests.
const repeatLists = 500

// warnRepeats sets the Warning of the people that the same office had in a
// list of the last days (tenant repeat_warning_days) and that did not fail:
// a second request is often a mistake, sometimes needed (a new procedure),
// so it is not refused; the clerk is told. Reading the earlier lists may
// fail: then no warning is given rather than no list taken in.
func (h *Handler) warnRepeats(ctx context.Context, t *tenants.Tenant, u domain.Upload, people []domain.Subject) {
	window := t.RepeatWindow()
	if window <= 0 || len(people) == 0 {
		return
	}
	since := h.now().Add(-window)
	want := make(map[string][]int, len(people)) // fiscal code → indexes into people
	for i, p := range people {
		if cf := p.Person.FiscalCode; cf != "" {
			want[cf] = append(want[cf], i)
		}
	}
	ups, err := h.Store.ListUploads(ctx, u.Tenant, u.Office, repeatLists)
	if err != nil {
		h.log().WarnContext(ctx, "repeated requests not checked", "upload", u.ID, "err", err)
		return
	}
	for _, prev := range ups { // newest first: the most recent request is the one named
		if prev.ID == u.ID || prev.Counts.Valid == 0 || prev.CreatedAt.After(u.CreatedAt) {
			continue
		}
		if prev.CreatedAt.Before(since) {
			break
		}
		subs, err := h.Store.SubjectsOfUpload(ctx, u.Tenant, prev.ID)
		if err != nil {
			h.log().WarnContext(ctx, "repeated requests not checked", "upload", u.ID, "err", err)
			return
		}
		for _, s := range subs {
			if s.State == domain.PersonFailed {
				continue
			}
			for _, i := range want[s.Person.FiscalCode] {
				if people[i].Warning == "" {
					people[i].Warning = repeatWarning(prev, s)
				}
			}
		}
	}
}

func repeatWarning(prev domain.Upload, s domain.Subject) string {
	list := "in un elenco"
	if prev.FileName != "" {
		list = "nell'elenco «" + prev.FileName + "»"
	}
	when := prev.CreatedAt.In(rome()).Format("02/01/2006")
	if s.State == domain.PersonCertified && s.Certificate != nil {
		return "Certificato già ricevuto per questo ufficio il " + s.Certificate.ReceivedAt.In(rome()).Format("02/01/2006") +
			" (" + list + " del " + when + "): richiesto di nuovo."
	}
	return "Già richiesto per questo ufficio " + list + " del " + when + ": richiesto di nuovo."
}
