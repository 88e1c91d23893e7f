package poll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// chunk is how many new messages' headers are fetched at once.
const chunk = 100

func (h *Handler) pollMailbox(ctx context.Context, t *tenants.Tenant) (ms MailboxSummary, err error) {
	addr := strings.ToLower(t.PEC.Address)
	ms = MailboxSummary{Tenant: t.ID, Mailbox: addr}
	log := h.log().With("tenant", t.ID, "mailbox", addr)
	held, ctx, err := h.leaseOf(ctx, t, addr)
	if domain.ErrorCode(err) == domain.ECONFLICT {
		ms.Busy = true
		log.InfoContext(ctx, "mailbox busy: another poll holds its lease")
		return ms, nil
	}
	if err != nil {
		return ms, err
	}
	defer held.Release()
	mb, err := h.Mail.Dial(ctx, t)
	if err != nil {
		return ms, err
	}
	defer mb.Close()
	dedicated := t.PEC.Dedicated()
	st, err := mb.Open(ctx, "INBOX", !dedicated)
	if err != nil {
		return ms, err
	}
	cur, err := h.Store.Cursor(ctx, t.ID, addr)
	if err != nil {
		return ms, err
	}
	cur.Tenant, cur.Mailbox = t.ID, addr
	if cur.UIDValidity != st.UIDValidity {
		if cur.Version > 0 {
			ms.Rescanned = true
			log.WarnContext(ctx, "UIDVALIDITY changed: re-scanning the INBOX", "old", cur.UIDValidity, "new", st.UIDValidity)
		}
		cur.UIDValidity, cur.LastUID = st.UIDValidity, 0
		if cur, err = h.Store.SaveCursor(ctx, cur); err != nil {
			return ms, err
		}
	}
	// Nothing new: opening the folder said so (UIDNEXT, or an empty INBOX).
	if st.Messages == 0 || (st.UIDNext != 0 && st.UIDNext <= cur.LastUID+1) {
		return ms, nil
	}
	uids, err := mb.UIDsAfter(ctx, cur.LastUID)
	if err != nil {
		return ms, err
	}
	box := &inbox{h: h, t: t, mb: mb, uidValidity: st.UIDValidity, ms: &ms}
	for len(uids) > 0 {
		n := min(chunk, len(uids))
		part := uids[:n]
		uids = uids[n:]
		if ctx.Err() != nil {
			break
		}
		sums, err := mb.Summaries(ctx, part)
		if err != nil {
			return ms, err
		}
		byUID := make(map[uint32]mailbox.Summary, len(sums))
		for _, s := range sums {
			byUID[s.UID] = s
		}
		for _, uid := range part {
			if ctx.Err() != nil {
				break
			}
			if s, ok := byUID[uid]; ok {
				if err := box.message(ctx, s); err != nil {
					return ms, fmt.Errorf("message UID %d: %w", uid, err)
				}
			} else {
				ms.Gone++ // expunged since the search
			}
			cur.LastUID = uid
			if cur, err = h.Store.SaveCursor(ctx, cur); err != nil {
				return ms, err
			}
		}
	}
	if ctx.Err() != nil {
		ms.Stopped = true
		log.InfoContext(ctx, "deadline reached: the next run resumes", "last_uid", cur.LastUID)
	}
	return ms, nil
}

// inbox is one run's work on one mailbox.
type inbox struct {
	h           *Handler
	t           *tenants.Tenant
	mb          mailbox.Mailbox
	uidValidity uint32
	ms          *MailboxSummary
}

// message handles one new message (see the package doc).
func (b *inbox) message(ctx context.Context, s mailbox.Summary) error {
	h, t := b.h, b.t
	hdr := readHeader(s.Header)
	if !t.PEC.Dedicated() {
		ours, err := h.concerns(ctx, t, hdr)
		if err != nil {
			return err
		}
		if !ours {
			b.ms.Skipped++
			return nil
		}
	}
	key := domain.AttemptKey{Tenant: t.ID, Mailbox: strings.ToLower(t.PEC.Address), UIDValidity: b.uidValidity, UID: s.UID}
	att, err := h.Triage.BeginAttempt(ctx, key)
	if err != nil {
		return err
	}
	if att.Count > h.maxAttempts() {
		return b.setAside(ctx, s, hdr, att)
	}
	if s.Size > h.maxMessage() {
		return b.tooLarge(ctx, s, hdr)
	}
	raw, err := b.fetch(ctx, s.UID)
	switch {
	case errors.Is(err, mailbox.ErrGone):
		b.ms.Gone++
		return nil
	case errors.Is(err, errTooLarge):
		return b.tooLarge(ctx, s, hdr) // RFC822.SIZE understated it
	case err != nil:
		return b.fail(ctx, key, err)
	}
	b.ms.Fetched++
	res, err := h.handleSafely(ctx, t, raw, b.ms)
	if err != nil {
		return b.fail(ctx, key, err)
	}
	return b.done(ctx, s.UID, res.triaged)
}

// fail records why an attempt failed, for the triage item of a message that
// keeps failing, and returns err.
func (b *inbox) fail(ctx context.Context, key domain.AttemptKey, err error) error {
	if ferr := b.h.Triage.FailAttempt(context.WithoutCancel(ctx), key, err.Error()); ferr != nil {
		b.h.log().WarnContext(ctx, "recording a failed attempt", "tenant", key.Tenant, "uid", key.UID, "err", ferr)
	}
	return err
}

// done flags and moves a handled message in a dedicated mailbox.
func (b *inbox) done(ctx context.Context, uid uint32, triaged bool) error {
	if !b.t.PEC.Dedicated() {
		return nil
	}
	if triaged {
		if err := b.mb.Flag(ctx, uid, mailbox.FlagFlagged); err != nil && !mailbox.Refused(err) {
			return err
		}
	}
	if err := b.mb.Move(ctx, uid, b.t.PEC.ArchiveFolder()); err != nil {
		if !mailbox.Refused(err) {
			return err
		}
		// Handled and logged as seen: it stays in the INBOX, and the cursor
		// moves past it all the same.
		b.h.log().WarnContext(ctx, "moving a handled message failed", "tenant", b.t.ID, "uid", uid, "err", err)
	}
	return nil
}

var errTooLarge = errors.New("message over the size limit")

// fetch reads a whole message, at most MaxMessage bytes.
func (b *inbox) fetch(ctx context.Context, uid uint32) ([]byte, error) {
	var buf bytes.Buffer
	max := b.h.maxMessage()
	err := b.mb.Fetch(ctx, uid, func(r io.Reader) error {
		n, err := io.Copy(&buf, io.LimitReader(r, max+1))
		if err == nil && n > max {
			return errTooLarge
		}
		return err
	})
	return buf.Bytes(), err
}
