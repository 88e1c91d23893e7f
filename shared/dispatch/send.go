package dispatch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/leases"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// MessageID is the Message-ID of a batch's request sent from mailbox address from.
func MessageID(batch, from string) string {
	dom := from[strings.LastIndexByte(from, '@')+1:]
	return "<casellario." + batch + "@" + dom + ">"
}

// send sends (or recovers) a protocolled batch (see the package doc).
func (r *run) send(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, log *slog.Logger, sum *Summary) error {
	h := r.h
	rawRef := h.Docs.Document(s3docs.BatchKey(t.ID, b.ID, s3docs.SentMessage))
	var raw []byte
	recovering := b.MessageID != "" && !b.LastSendAttempt.IsZero()
	switch {
	case b.MessageID == "":
		var mid string
		var err error
		if raw, mid, err = r.compose(ctx, t, o, b); err != nil {
			if domain.ErrorCode(err) == domain.EINVALID {
				return r.fail(ctx, t, b, domain.Because(domain.ReasonNotComposed, "request not composed: "+domain.ErrorMessage(err)), sum)
			}
			return err
		}
		if _, err := h.Docs.Put(ctx, rawRef, "message/rfc822", bytes.NewReader(raw)); err != nil {
			return err
		}
		if b, err = h.Store.SetMessageID(ctx, t.ID, b.ID, mid); err != nil {
			return err
		}
	case recovering:
		done, err := r.recover(ctx, t, b, log, sum)
		if err != nil || done {
			return err
		}
		fallthrough
	default:
		// Composed and stored before, never submitted (or certainly not
		// accepted): the same bytes, the same Message-ID.
		var err error
		if raw, _, err = h.Docs.GetBytes(ctx, rawRef); err != nil {
			return err
		}
	}
	return r.submit(ctx, t, b, raw, recovering, log, sum)
}

// recover looks for the provider's answer to a submission of unknown
// outcome. done reports that nothing is to be sent now.
func (r *run) recover(ctx context.Context, t tenants.Tenant, b domain.Batch, log *slog.Logger, sum *Summary) (bool, error) {
	h := r.h
	if h.Mailbox == nil {
		log.ErrorContext(ctx, "batch with a submission of unknown outcome and no Mailbox to check its receipts: left for a person")
		sum.Waiting++
		return true, nil
	}
	kind, err := h.Mailbox.Receipt(ctx, t, b.MessageID)
	if err != nil {
		log.WarnContext(ctx, "cannot read the PEC mailbox; retried next run", "err", err)
		sum.Retried++
		return true, nil
	}
	switch kind {
	case pec.KindAccettazione:
		nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchProtocolled, To: domain.BatchSent,
			Detail: "sent (the provider's acceptance of " + b.MessageID + " was found in the mailbox)", Cause: r.cause})
		if err != nil {
			return true, err
		}
		sum.Recovered++
		log.InfoContext(ctx, "acceptance found; recorded as sent")
		r.notify(ctx, nb, log)
		return true, nil
	case pec.KindNonAccettazione:
		log.ErrorContext(ctx, "the provider refused the request")
		return true, r.fail(ctx, t, b, domain.Because(domain.ReasonProviderRefused, "the PEC provider refused the message (non-accettazione)"), sum)
	}
	if h.now().Sub(b.LastSendAttempt) < h.grace() {
		log.InfoContext(ctx, "last submission is recent and unconfirmed; waiting for its receipt")
		sum.Waiting++
		return true, nil
	}
	return false, r.note(ctx, b, domain.NoteResent, "sending again the stored message, same Message-ID "+b.MessageID+
		": no receipt found for the previous submission")
}

// submit hands the message to the provider under the batch's send lease.
func (r *run) submit(ctx context.Context, t tenants.Tenant, b domain.Batch, raw []byte, resend bool, log *slog.Logger, sum *Summary) error {
	h := r.h
	held, sctx, err := leases.Acquire(ctx, h.Store, t.ID, "send-"+b.ID, r.owner, h.LeaseTTL, log)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		log.InfoContext(ctx, "another dispatcher is sending this batch")
		sum.Waiting++
		return nil
	}
	if err != nil {
		return err
	}
	defer held.Release()
	// Recorded before the first byte leaves: a crash from here on leaves a
	// submission of unknown outcome, which the next run checks before sending.
	if b, err = h.Store.RecordSendAttempt(sctx, t.ID, b.ID, h.now()); err != nil {
		return err
	}
	if err := h.Sender.Send(sctx, t, t.PEC.Address, []string{t.Procura}, raw); err != nil {
		var ns interface{ NotSent() bool }
		if errors.As(err, &ns) && ns.NotSent() {
			if _, cerr := h.Store.RecordSendAttempt(sctx, t.ID, b.ID, timeZero); cerr != nil {
				return cerr
			}
			log.WarnContext(ctx, "sending failed, nothing sent; retried next run", "err", err)
			sum.Retried++
			return r.note(ctx, b, domain.NoteSendRetry, "sending failed, nothing sent; retried next run: "+err.Error())
		}
		log.WarnContext(ctx, "sending interrupted, outcome unknown; checked against the receipts next run", "err", err)
		sum.Retried++
		return r.note(ctx, b, domain.NoteSendUnknown, "sending interrupted, outcome unknown; the next run looks for the acceptance receipt: "+err.Error())
	}
	nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchProtocolled, To: domain.BatchSent,
		Cause: r.cause})
	if err != nil {
		return err
	}
	sum.Sent++
	if resend {
		sum.Resent++
	}
	log.InfoContext(ctx, "request sent", "protocol", nb.Protocol.Number, "message_id", nb.MessageID, "people", len(nb.People))
	r.notify(ctx, nb, log)
	return nil
}

func (r *run) notify(ctx context.Context, b domain.Batch, log *slog.Logger) {
	if r.h.Notify == nil {
		return
	}
	ev := notice.Event{Kind: notice.RequestSent, Tenant: b.Tenant, Office: b.Office, Batch: b.ID, Count: len(b.People)}
	if err := r.h.Notify.Publish(ctx, ev); err != nil {
		log.WarnContext(ctx, "notifying the office", "err", err)
	}
}
