package report

import (
	"context"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Source is what Gather reads of the store (a part of domain.Store).
type Source interface {
	// BatchesCreated returns a tenant's batches created in [from, to).
	BatchesCreated(ctx context.Context, tenant string, from, to time.Time) ([]domain.Batch, error)
	Events(ctx context.Context, tenant, subject string) ([]domain.Event, error)
	SubjectsOfBatch(ctx context.Context, tenant, batch string) ([]domain.Subject, error)
	GetUpload(ctx context.Context, tenant, id string) (domain.Upload, error)
}

// Query is what a report is asked for.
type Query struct {
	From, To domain.Date
	// Tenants are the Comuni shown (all when empty). Every tenant's requests
	// are counted for the cost per request, as the usage is the deployment's.
	Tenants      []string
	Now          time.Time
	OverdueAfter time.Duration
}

// DefaultDays is the period when none is given: the last 30 days, today included.
const DefaultDays = 30

// Period returns the period of a query from optional YYYY-MM-DD bounds: to
// defaults to today (in Rome), from to DefaultDays days before to. Errors
// (EINVALID) for a malformed date or from after to, in English: callers for
// office users say it in Italian.
func Period(from, to string, now time.Time) (domain.Date, domain.Date, error) {
	parse := func(what, s string) (domain.Date, error) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return domain.Date{}, domain.Errorf(domain.EINVALID, "%s %q: want YYYY-MM-DD", what, s)
		}
		return domain.DateOf(t), nil
	}
	t := domain.DateOf(now.In(Rome))
	var err error
	if to != "" {
		if t, err = parse("to", to); err != nil {
			return domain.Date{}, domain.Date{}, err
		}
	}
	f := domain.DateOf(t.Time().AddDate(0, 0, -(DefaultDays - 1)))
	if from != "" {
		if f, err = parse("from", from); err != nil {
			return domain.Date{}, domain.Date{}, err
		}
	}
	if t.Before(f) {
		return domain.Date{}, domain.Date{}, domain.Errorf(domain.EINVALID, "the period starts (%s) after it ends (%s)", f, t)
	}
	return f, t, nil
}

// Gather reads from src what Compute needs; Usage and Prices are left to
// the caller. Unknown tenants are ENOTFOUND; from after to EINVALID.
func Gather(ctx context.Context, src Source, cfg *tenants.Config, q Query) (Input, error) {
	if q.To.Before(q.From) {
		return Input{}, domain.Errorf(domain.EINVALID, "the period starts (%s) after it ends (%s)", q.From, q.To)
	}
	shown := map[string]bool{}
	for _, id := range q.Tenants {
		if _, err := cfg.Tenant(id); err != nil {
			return Input{}, domain.Errorf(domain.ENOTFOUND, "tenant %q is not configured", id)
		}
		shown[id] = true
	}
	in := Input{From: q.From, To: q.To, Now: q.Now, OverdueAfter: q.OverdueAfter}
	start, end := Bounds(q.From, q.To)
	for _, t := range cfg.Tenants {
		bs, err := src.BatchesCreated(ctx, t.ID, start, end)
		if err != nil {
			return Input{}, err
		}
		for _, b := range bs {
			if Sent(b) {
				in.Sent++
			}
		}
		if len(shown) > 0 && !shown[t.ID] {
			continue
		}
		ti := TenantInput{ID: t.ID, Name: t.Name}
		for _, o := range t.Offices {
			ti.Offices = append(ti.Offices, Office{Code: o.Code, Name: o.Name})
		}
		created := map[string]time.Time{}
		for _, b := range bs {
			bf := BatchFacts{Batch: b, Uploads: map[string]time.Time{}}
			if bf.Events, err = src.Events(ctx, t.ID, b.ID); err != nil {
				return Input{}, err
			}
			if bf.Subjects, err = src.SubjectsOfBatch(ctx, t.ID, b.ID); err != nil {
				return Input{}, err
			}
			for _, s := range bf.Subjects {
				at, ok := created[s.Upload]
				if !ok {
					u, err := src.GetUpload(ctx, t.ID, s.Upload)
					switch domain.ErrorCode(err) {
					case "":
						at = u.CreatedAt
					case domain.ENOTFOUND: // expired: no upload time for its people
					default:
						return Input{}, err
					}
					created[s.Upload] = at
				}
				if !at.IsZero() {
					bf.Uploads[s.Upload] = at
				}
			}
			ti.Batches = append(ti.Batches, bf)
		}
		in.Tenants = append(in.Tenants, ti)
	}
	return in, nil
}
