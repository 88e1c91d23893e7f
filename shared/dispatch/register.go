package dispatch

import (
	"context"
	"log/slog"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/protocol"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// register gives a queued batch its protocol number. done reports that the
// batch goes no further in this run (retry later, or failed).
func (r *run) register(ctx context.Context, t tenants.Tenant, o *tenants.Office, b domain.Batch, log *slog.Logger, sum *Summary) (domain.Batch, bool, error) {
	h := r.h
	today := domain.DateOf(h.now().In(rome()))
	uploads := map[string]bool{}
	for _, id := range b.People {
		u, _, err := domain.ParseSubjectID(id)
		if err != nil {
			return b, false, err
		}
		uploads[u] = true
	}
	var manual *domain.Protocol
	if len(uploads) == 1 {
		for u := range uploads {
			m, err := r.manualOf(ctx, t.ID, u)
			if err != nil {
				return b, false, err
			}
			manual = m
		}
	}
	var reg protocol.Register
	if h.Register != nil {
		var err error
		if reg, err = h.Register(t); err != nil {
			return b, false, err
		}
	}
	if manual != nil {
		reg = protocol.Manual{}
	}
	if reg == nil {
		switch t.Protocol.Kind {
		case tenants.ProtocolBuiltin:
			nb, err := h.Store.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: t.ID, AOO: t.AOO, Registry: t.Protocol.Registry,
				Batch: b.ID, Date: today, Cause: r.cause})
			if err != nil {
				return b, false, err
			}
			sum.Protocol++
			log.InfoContext(ctx, "protocolled", "protocol", nb.Protocol.Number)
			return nb, false, nil
		case tenants.ProtocolHTTP:
			reg = httpRegister{h: h, t: t}
		default:
			reg = protocol.Manual{}
		}
	}
	req := protocol.Request{Tenant: t.ID, AOO: t.AOO, Registry: t.Protocol.GeneralRegistry(), BatchID: b.ID,
		Subject:   "Richiesta certificati del casellario giudiziario",
		Recipient: t.Procura, Manual: manual}
	p, err := reg.Register(ctx, req)
	if err != nil {
		if protocol.IsTemporary(err) {
			log.WarnContext(ctx, "register unavailable; retried next run", "err", err)
			sum.Retried++
			return b, true, r.note(ctx, b, domain.NoteRegisterRetry, "registration failed temporarily, retried next run: "+err.Error())
		}
		log.ErrorContext(ctx, "register refused the batch", "err", err)
		return b, true, r.fail(ctx, t, b, domain.Because(domain.ReasonRegisterRefused, "protocol registration refused: "+err.Error()), sum)
	}
	nb, err := h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, From: domain.BatchQueued, To: domain.BatchProtocolled,
		Protocol: p, Cause: r.cause})
	if err != nil {
		return b, false, err
	}
	sum.Protocol++
	log.InfoContext(ctx, "protocolled", "protocol", nb.Protocol.Number)
	return nb, false, nil
}

type httpRegister struct {
	h *Handler
	t tenants.Tenant
}

func (x httpRegister) Register(ctx context.Context, req protocol.Request) (domain.Protocol, error) {
	token := ""
	if x.t.Protocol.Auth != (tenants.Secret{}) {
		if x.h.Secrets == nil {
			return domain.Protocol{}, &protocol.Error{Message: "http register: no secrets resolver configured for the token"}
		}
		var err error
		if token, err = x.h.Secrets.Resolve(ctx, x.t.Protocol.Auth); err != nil {
			return domain.Protocol{}, &protocol.Error{Temporary: true, Message: "http register: resolving the token", Err: err}
		}
	}
	return protocol.HTTP{URL: x.t.Protocol.URL, Token: token}.Register(ctx, req)
}

// note files a note about a batch at the current time.
func (r *run) note(ctx context.Context, b domain.Batch, note domain.NoteCode, detail string) error {
	return r.h.Store.AppendEvent(ctx, domain.Event{Tenant: b.Tenant, Subject: b.ID, At: r.h.now().UTC(), State: string(b.State),
		Note: note, Detail: detail, Cause: r.cause})
}

// fail fails a batch and its people (see the package doc).
func (r *run) fail(ctx context.Context, t tenants.Tenant, b domain.Batch, reason domain.Reason, sum *Summary) error {
	if _, err := r.h.Store.AdvanceBatch(ctx, domain.BatchChange{Tenant: t.ID, ID: b.ID, To: domain.BatchFailed, Reason: reason, Cause: r.cause}); err != nil {
		return err
	}
	sum.Failed++
	for _, id := range b.People {
		_, err := r.h.Store.AdvanceSubject(ctx, domain.SubjectChange{Tenant: t.ID, ID: id, To: domain.PersonFailed, Batch: b.ID,
			Reason: reason, Cause: r.cause})
		if err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
	}
	return domain.FinishUploads(ctx, r.h.Store, t.ID, domain.UploadsOf(b.People), r.cause)
}
