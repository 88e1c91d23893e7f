package ports

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/notify"
	"github.com/casellario-pec/casellario/shared/poll"
)

// recorder keeps what was published.
type recorder []notify.Event

func (r *recorder) Publish(_ context.Context, ev notify.Event) error {
	*r = append(*r, ev)
	return nil
}

func TestPorts(t *testing.T) {
	var got recorder
	n := Notifier{Publisher: &got}
	ctx := context.Background()
	_ = n.UploadProcessed(ctx, domain.Upload{ID: "u1", Tenant: "c_g999", Office: "SUAP", State: domain.UploadQueued, Counts: domain.Counts{Rows: 3, Valid: 2, Invalid: 1}})
	_ = n.UploadProcessed(ctx, domain.Upload{ID: "u2", Tenant: "c_g999", Office: "SUAP", State: domain.UploadRejected})
	_ = n.RequestSent(ctx, domain.Batch{ID: "b1", Tenant: "c_g999", Office: "SUAP", People: []string{"u1-2", "u1-3"}})
	for _, k := range []poll.NoticeKind{poll.NoticeDelivered, poll.NoticeCertificates, poll.NoticeWarning, poll.NoticeFailed, poll.NoticeOverdue, poll.NoticeTriage, "future-kind"} {
		_ = n.Notify(ctx, poll.Notice{Kind: k, Tenant: "c_g999", Batch: "b1", TriageID: "t1", Count: 2, Days: 10})
	}
	want := []notify.Kind{notify.ListReceived, notify.ListRejected, notify.RequestSent, notify.Delivered, notify.Certificates,
		notify.NotDelivered, notify.RequestFailed, notify.Overdue, notify.Triage}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i, k := range want {
		if got[i].Kind != k || got[i].Tenant != "c_g999" {
			t.Errorf("event %d: %+v, want kind %s", i, got[i], k)
		}
	}
	if got[0].Counts.Invalid != 1 || got[2].Count != 2 || got[7].Days != 10 || got[8].Triage != "t1" {
		t.Errorf("event details lost: %+v", got)
	}
}

func TestOr(t *testing.T) {
	cfg := aws.Config{Region: "eu-south-1"}
	fallback := intake.NopNotifier{}
	t.Setenv("CASELLARIO_NOTIFY_QUEUE_URL", "")
	if _, ok := Or[intake.Notifier](cfg, fallback).(intake.NopNotifier); !ok {
		t.Error("without a queue the fallback should be kept")
	}
	t.Setenv("CASELLARIO_NOTIFY_QUEUE_URL", "http://127.0.0.1:1/queue/notify")
	n, ok := Or[intake.Notifier](cfg, fallback).(Notifier)
	if !ok {
		t.Fatal("with a queue the SQS notifier should be chosen")
	}
	if q, ok := n.Publisher.(notify.SQS); !ok || q.QueueURL != "http://127.0.0.1:1/queue/notify" {
		t.Errorf("publisher %+v", n.Publisher)
	}
}
