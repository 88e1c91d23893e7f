package dispatch

import (
	"context"
	"slices"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func (r *run) officeLocked(ctx context.Context, t tenants.Tenant, o *tenants.Office, sum *Summary) error {
	h := r.h
	open, err := h.Store.ListBatches(ctx, t.ID, o.Code, []domain.BatchState{domain.BatchQueued, domain.BatchProtocolled}, 0)
	if err != nil {
		return err
	}
	slices.Reverse(open) // oldest first
	for _, b := range open {
		if err := r.batch(ctx, t, o, b, true, sum); err != nil {
			return err
		}
	}
	if h.Resume {
		return nil
	}
	size := h.BatchSize
	if size <= 0 {
		size = t.BatchSize
	}
	if size <= 0 {
		size = tenants.DefaultBatchSize
	}
	for iter := 0; iter < 10000; iter++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		pending, err := h.Store.PendingSubjects(ctx, t.ID, o.Code, size)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		people, err := r.group(ctx, t.ID, pending)
		if err != nil {
			return err
		}
		b, err := h.Store.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: t.ID, Office: o.Code, People: people}, r.cause)
		if err != nil {
			return err
		}
		sum.Created++
		if err := r.batch(ctx, t, o, b, false, sum); err != nil {
			return err
		}
	}
	return nil
}

// group picks the people of the next batch from pending (oldest upload
// first): the first upload alone when it has a manual protocol number, else
// every pending person of uploads without one.
func (r *run) group(ctx context.Context, tenant string, pending []domain.Subject) ([]string, error) {
	first, err := r.manualOf(ctx, tenant, pending[0].Upload)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range pending {
		if first != nil {
			if s.Upload == pending[0].Upload {
				ids = append(ids, s.ID)
			}
			continue
		}
		m, err := r.manualOf(ctx, tenant, s.Upload)
		if err != nil {
			return nil, err
		}
		if m == nil {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// manualOf returns the manual protocol of an upload, cached per run.
func (r *run) manualOf(ctx context.Context, tenant, upload string) (*domain.Protocol, error) {
	if p, ok := r.uploads[upload]; ok {
		return p, nil
	}
	u, err := r.h.Store.GetUpload(ctx, tenant, upload)
	if err != nil {
		return nil, err
	}
	r.uploads[upload] = u.Protocol
	return u.Protocol, nil
}

// batch moves one batch as far as it goes in this run.
func (r *run) batch(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, resumed bool, sum *Summary) error {
	log := r.h.log().With("tenant", t.ID, "office", o.Code, "batch", b.ID)
	if b.State == domain.BatchQueued {
		lost, err := r.h.Store.ClaimSubjects(ctx, t.ID, b.ID, r.cause)
		if err != nil {
			return err
		}
		if b, err = r.h.Store.GetBatch(ctx, t.ID, b.ID); err != nil {
			return err
		}
		if !resumed {
			sum.Lost += len(lost)
			sum.People += len(b.People)
		}
		if len(lost) > 0 {
			log.WarnContext(ctx, "people taken by another batch, dropped", "lost", len(lost))
		}
		if len(b.People) == 0 {
			_, err := r.h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchQueued, To: domain.BatchFailed,
				Reason: domain.Because(domain.ReasonNoPeopleLeft, "no people left: all were taken by other batches"), Cause: r.cause})
			sum.Failed++
			return err
		}
		var done bool
		if b, done, err = r.register(ctx, t, o, b, log, sum); err != nil || done {
			return err
		}
	}
	if b.State != domain.BatchProtocolled {
		return nil
	}
	return r.send(ctx, t, o, b, log, sum)
}
