package poll_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// BenchmarkPoll handles b.N receipts (distinct messages about one batch)
// in one run: dynalite, gofakes3 and the simulator's IMAP on this machine.
func BenchmarkPoll(b *testing.B) {
	f := newFx(b, tenants.MailboxDedicated, noProcura)
	f.h.Deadline = 10 * time.Minute
	ctx := context.Background()
	bt, _ := f.batch(b, people[:1])
	must[domain.Batch](b)(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: f.t.ID, ID: bt.ID, To: domain.BatchSent, Cause: cause}))
	s := f.w.Provider.Signer()
	for i := range b.N {
		f.appendInbox(b, receipt(b, pec.KindAccettazione, bt.MessageID, s, i))
	}
	b.ResetTimer()
	start := time.Now()
	sum := f.run(b)
	el := time.Since(start)
	b.StopTimer()
	if sum.Fetched != b.N {
		b.Fatalf("fetched %d of %d", sum.Fetched, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
}

// BenchmarkEmptyPoll is a poll that finds nothing new in an INBOX of n
// messages already handled: it must not grow with n.
func BenchmarkEmptyPoll(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("inbox=%d", n), func(b *testing.B) {
			f := newFx(b, tenants.MailboxDedicated, noProcura)
			ctx := context.Background()
			msg := []byte("From: a@example.test\r\nSubject: x\r\n\r\nx\r\n")
			for range n {
				f.appendInbox(b, msg)
			}
			uv := must[uint32](b)(f.w.Provider.UIDValidity(sim.ComunePrato, "INBOX"))
			must[domain.MailboxCursor](b)(f.st.SaveCursor(ctx, domain.MailboxCursor{Tenant: f.t.ID, Mailbox: sim.ComunePrato, UIDValidity: uv, LastUID: uint32(n)}))
			b.ResetTimer()
			for b.Loop() {
				if sum := f.run(b); sum.Fetched != 0 {
					b.Fatalf("fetched %d", sum.Fetched)
				}
			}
		})
	}
}
