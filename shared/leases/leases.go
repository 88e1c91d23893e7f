// Package leases holds a lease of the store (domain.LeaseStore) for as long
// as a piece of work goes on: it renews the lease in the background three
// times per TTL and cancels the work's context when the lease is lost. A
// short TTL then costs nothing while the holder lives, and a holder that
// crashed is replaced by the next run within one TTL.
package leases

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// DefaultTTL is how long a lease outlives a holder that stopped renewing it:
// the longest a crash keeps others waiting.
const DefaultTTL = 2 * time.Minute

// ErrLost is the cause of a held context's end when the lease was lost:
// another holder took it (ours had expired), or renewing it kept failing
// until it expired.
var ErrLost = errors.New("lease lost")

// Held is a lease being held. Release it when the work is done.
type Held struct {
	st     domain.LeaseStore
	ttl    time.Duration
	log    *slog.Logger
	logCtx context.Context // the work's values (the request id) for the lines logged after it ends
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu    sync.Mutex
	lease domain.Lease
}

// Acquire takes the named lease (domain.LeaseStore.AcquireLease: ECONFLICT
// when someone else holds it) and keeps it until Release. The returned
// context ends when ctx does, when the lease is lost (cause ErrLost) or at
// Release. A nil log discards.
func Acquire(ctx context.Context, st domain.LeaseStore, tenant, name, owner string, ttl time.Duration, log *slog.Logger) (*Held, context.Context, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	l, err := st.AcquireLease(ctx, tenant, name, owner, ttl)
	if err != nil {
		return nil, ctx, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wctx, cancel := context.WithCancelCause(ctx)
	h := &Held{st: st, ttl: ttl, log: log, logCtx: context.WithoutCancel(ctx), cancel: cancel, done: make(chan struct{}), lease: l}
	go h.keep(wctx)
	return h, wctx, nil
}

// Lease returns the lease as last renewed.
func (h *Held) Lease() domain.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

func (h *Held) keep(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := h.Lease()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.ttl/3)
		l, err := h.st.RenewLease(rctx, cur, h.ttl)
		cancel()
		switch {
		case err == nil:
			h.mu.Lock()
			h.lease = l
			h.mu.Unlock()
		case domain.ErrorCode(err) == domain.ECONFLICT:
			h.log.WarnContext(ctx, "lease lost: stopping the work it guarded", "lease", cur.Name)
			h.cancel(ErrLost)
			return
		case !time.Now().Before(cur.Expires):
			// Renewals failed until the lease ran out: someone else may hold it now.
			h.log.WarnContext(ctx, "lease expired while renewals failed: stopping the work it guarded", "lease", cur.Name, "err", err)
			h.cancel(ErrLost)
			return
		default:
			h.log.WarnContext(ctx, "renewing a lease failed; retried", "lease", cur.Name, "err", err)
		}
	}
}

// Release stops renewing the lease and frees it (so that the next holder
// need not wait for it to expire). Safe to call more than once.
func (h *Held) Release() {
	h.cancel(context.Canceled)
	<-h.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.st.ReleaseLease(ctx, h.Lease()); err != nil {
		h.log.WarnContext(h.logCtx, "releasing a lease", "lease", h.Lease().Name, "err", err)
	}
}

// Lost reports whether ctx (from Acquire) ended because the lease was lost.
func Lost(ctx context.Context) bool { return errors.Is(context.Cause(ctx), ErrLost) }
