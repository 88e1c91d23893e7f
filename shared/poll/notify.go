package poll

import "context"

// NoticeKind is what a notice is about.
type NoticeKind string

// Notice kinds.
const (
	NoticeDelivered    NoticeKind = "delivered"    // the request reached the Procura
	NoticeCertificates NoticeKind = "certificates" // certificates are available (Count)
	NoticeFailed       NoticeKind = "failed"       // the batch failed (Detail: why)
	NoticeWarning      NoticeKind = "warning"      // preavviso di mancata consegna
	NoticeOverdue      NoticeKind = "overdue"      // delivered, no reply after OverdueAfter
	NoticeTriage       NoticeKind = "triage"       // a message waits for the protocol office
)

// Notice is something the office (Office of Batch) or the protocol office
// (triage, overdue) should hear about. Details are English and never carry
// personal data.
type Notice struct {
	Kind     NoticeKind
	Tenant   string
	Office   string
	Batch    string
	TriageID string
	Count    int
	Days     int // overdue: the days after which a reply was due
	Detail   string
}

// Notifier delivers notices (e-mail to offices, in the notify function).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n Notice) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notice) error { return f(ctx, n) }

func (h *Handler) notify(ctx context.Context, n Notice) {
	if h.Notify == nil {
		return
	}
	if err := h.Notify.Notify(ctx, n); err != nil {
		h.log().Warn("notice not delivered", "kind", n.Kind, "tenant", n.Tenant, "batch", n.Batch, "err", err)
	}
}
