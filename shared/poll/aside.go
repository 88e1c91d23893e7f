package poll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// mailboxID names a mailbox in object keys without its address.
func mailboxID(addr string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(addr)))
	return hex.EncodeToString(sum[:8])
}

// setAside keeps a message that failed too often for a person: streamed to
// S3 as it is (never held whole in memory), a triage item saying why, and
// the cursor moves on. When even the copy fails, the triage item points at
// the header alone: the mailbox must not stop for one message.
func (b *inbox) setAside(ctx context.Context, s mailbox.Summary, hd header, att domain.MessageAttempts) error {
	h, t := b.h, b.t
	ref := h.Docs.Document(s3docs.AsideKey(t.ID, mailboxID(t.PEC.Address), b.uidValidity, s.UID, "eml"))
	var obj s3docs.Object
	err := b.mb.Fetch(ctx, s.UID, func(r io.Reader) error {
		var err error
		obj, err = h.Docs.PutStream(ctx, ref, "message/rfc822", r, 0)
		return err
	})
	detail := fmt.Sprintf("handling failed %d times; last failure: %s", att.Count-1, oneLine(att.LastFailure, 300))
	switch {
	case errors.Is(err, mailbox.ErrGone):
		b.ms.Gone++
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return err
		}
		h.log().WarnContext(ctx, "setting a failing message aside: the copy failed; keeping its header", "tenant", t.ID, "uid", s.UID, "err", err)
		detail += "; the message could not be copied (" + oneLine(err.Error(), 200) + "): only its header is kept"
		if ref, err = b.keepHeader(ctx, s); err != nil {
			return err
		}
	default:
		detail += fmt.Sprintf("; kept as it is (%d bytes, SHA-256 %s)", obj.Size, obj.SHA256)
	}
	return b.triageAside(ctx, s, hd, ref.Key, domain.Because(domain.ReasonMessageFailing, detail))
}

// tooLarge keeps the header of a message over the size limit and puts it in
// triage; its body is never read into memory.
func (b *inbox) tooLarge(ctx context.Context, s mailbox.Summary, hd header) error {
	ref, err := b.keepHeader(ctx, s)
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("%d bytes, over the limit of %d: not fetched, only its header is kept", s.Size, b.h.maxMessage())
	return b.triageAside(ctx, s, hd, ref.Key, domain.Because(domain.ReasonMessageTooLarge, detail))
}

func (b *inbox) keepHeader(ctx context.Context, s mailbox.Summary) (s3docs.Ref, error) {
	ref := b.h.Docs.Document(s3docs.AsideKey(b.t.ID, mailboxID(b.t.PEC.Address), b.uidValidity, s.UID, "hdr"))
	_, err := b.h.Docs.Put(ctx, ref, "text/rfc822-headers", bytes.NewReader(s.Header))
	return ref, err
}

func (b *inbox) triageAside(ctx context.Context, s mailbox.Summary, hd header, key string, why domain.Reason) error {
	h, t := b.h, b.t
	kind := "unknown"
	switch {
	case hd.Ricevuta != "":
		kind = hd.Ricevuta
	case hd.Trasporto == "errore":
		kind = "anomalia"
	case hd.Trasporto != "":
		kind = hd.Trasporto
	}
	facts := domain.TriageFacts{Subject: hd.Subject, RefersTo: hd.Ref}
	if len(hd.Senders) > 0 {
		facts.Sender = hd.Senders[0] // from the header: not certified
	}
	it, created, err := h.Triage.CreateTriage(ctx, domain.TriageItem{Tenant: t.ID, Mailbox: t.PEC.Address, MessageKey: key,
		MessageID: hd.MessageID, Kind: kind, Reason: why, Facts: facts, CreatedAt: h.now(), Cause: causeOf(hd.MessageID, fmt.Sprintf("uid-%d-%d", b.uidValidity, s.UID))})
	if err != nil {
		return err
	}
	b.ms.SetAside++
	h.log().WarnContext(ctx, "message set aside for the protocol office", "tenant", t.ID, "uid", s.UID, "triage", it.ID, "reason", why.Code)
	if created {
		h.notify(ctx, notice.Event{Kind: notice.Triage, Tenant: t.ID, Triage: it.ID, Reason: why.Code})
	}
	return b.done(ctx, s.UID, true)
}
