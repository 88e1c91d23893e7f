// Package ports adapts the handlers' notification ports (intake, dispatch, poll) to
// notify events, so that every function tells offices the same way.
package ports

import (
	"context"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/notify"
	"github.com/casellario-pec/casellario/shared/poll"
)

// Notifier implements intake.Notifier, dispatch.Notifier and poll.Notifier.
type Notifier struct {
	Publisher notify.Publisher
}

var (
	_ intake.Notifier   = Notifier{}
	_ dispatch.Notifier = Notifier{}
	_ poll.Notifier     = Notifier{}
)

// UploadProcessed: a list was taken in, or refused.
func (n Notifier) UploadProcessed(ctx context.Context, u domain.Upload) error {
	kind := notify.ListReceived
	if u.State == domain.UploadRejected {
		kind = notify.ListRejected
	}
	return n.Publisher.Publish(ctx, notify.Event{Kind: kind, Tenant: u.Tenant, Office: u.Office, Upload: u.ID, Counts: u.Counts})
}

// RequestSent: a batch left for the Procura.
func (n Notifier) RequestSent(ctx context.Context, b domain.Batch) error {
	return n.Publisher.Publish(ctx, notify.Event{Kind: notify.RequestSent, Tenant: b.Tenant, Office: b.Office, Batch: b.ID, Count: len(b.People)})
}

// pollKinds maps the poll's notices to notification kinds.
var pollKinds = map[poll.NoticeKind]notify.Kind{
	poll.NoticeDelivered:    notify.Delivered,
	poll.NoticeCertificates: notify.Certificates,
	poll.NoticeWarning:      notify.NotDelivered,
	poll.NoticeFailed:       notify.RequestFailed,
	poll.NoticeOverdue:      notify.Overdue,
	poll.NoticeTriage:       notify.Triage,
}

// Notify: something the poll saw.
func (n Notifier) Notify(ctx context.Context, pn poll.Notice) error {
	kind, ok := pollKinds[pn.Kind]
	if !ok {
		return nil // a kind this version does not mail about
	}
	ev := notify.Event{Kind: kind, Tenant: pn.Tenant, Office: pn.Office, Batch: pn.Batch, Triage: pn.TriageID, Count: pn.Count, Days: pn.Days}
	return n.Publisher.Publish(ctx, ev)
}
