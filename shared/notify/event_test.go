package notify

import (
	"context"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// items is a Reader over maps.
type items struct {
	batches map[string]domain.Batch
	uploads map[string]domain.Upload
}

func (b items) GetBatch(_ context.Context, tenant, id string) (domain.Batch, error) {
	if x, ok := b.batches[tenant+"/"+id]; ok {
		return x, nil
	}
	return domain.Batch{}, domain.Errorf(domain.ENOTFOUND, "no batch %s", id)
}

func (b items) GetUpload(_ context.Context, tenant, id string) (domain.Upload, error) {
	if x, ok := b.uploads[tenant+"/"+id]; ok {
		return x, nil
	}
	return domain.Upload{}, domain.Errorf(domain.ENOTFOUND, "no upload %s", id)
}

func TestResolve(t *testing.T) {
	r := Resolver{Tenants: tenants.Demo(), PageURL: "https://casellario.comune.prato.test/", Store: items{
		batches: map[string]domain.Batch{
			"c_g999/b1": {ID: "b1", Tenant: "c_g999", Office: "ACQUISTI", Protocol: proto, People: []string{"x-2", "x-3"}},
			"c_g999/b2": {ID: "b2", Tenant: "c_g999", Office: "ACQUISTI", Reason: domain.Because(domain.ReasonProviderRefused, "x")},
		},
		uploads: map[string]domain.Upload{
			"c_g999/u1": {ID: "u1", Tenant: "c_g999", Office: "SUAP", FileName: "marzo.csv", Reason: domain.Because(domain.ReasonNoRows, "x")},
		},
	}}
	tests := []struct {
		name   string
		ev     notice.Event
		to     string // comma-joined recipients
		office string
		check  func(Notice) bool
	}{
		{"list received", notice.Event{Kind: notice.ListReceived, Tenant: "c_g999", Office: "SUAP", Upload: "u1", Counts: domain.Counts{Rows: 2, Valid: 2}},
			"suap@comune.prato.test", "Servizio attività economiche SUAP", func(n Notice) bool {
				return n.Counts.Valid == 2 && n.FileName == "marzo.csv" && n.Link == "https://casellario.comune.prato.test/#/elenchi/u1"
			}},
		{"list rejected: the list's own reason", notice.Event{Kind: notice.ListRejected, Tenant: "c_g999", Office: "SUAP", Upload: "u1"},
			"suap@comune.prato.test", "Servizio attività economiche SUAP", func(n Notice) bool { return n.Reason == domain.ReasonNoRows.Italian() }},
		{"list rejected with its reason", notice.Event{Kind: notice.ListRejected, Tenant: "c_g999", Office: "SUAP", Upload: "u1", Reason: domain.ReasonNoValidRow},
			"suap@comune.prato.test", "Servizio attività economiche SUAP", func(n Notice) bool { return n.Reason == domain.ReasonNoValidRow.Italian() }},
		{"request sent takes the batch's protocol and size", notice.Event{Kind: notice.RequestSent, Tenant: "c_g999", Batch: "b1"},
			"acquisti@comune.prato.test", "Servizio acquisti", func(n Notice) bool {
				return n.Protocol == proto && n.People == 2 && n.Link == "https://casellario.comune.prato.test/#/richieste/b1"
			}},
		{"failure with the request's reason", notice.Event{Kind: notice.RequestFailed, Tenant: "c_g999", Batch: "b2"},
			"acquisti@comune.prato.test,protocollo@comune.prato.test", "Servizio acquisti", func(n Notice) bool { return n.Reason == domain.ReasonProviderRefused.Italian() }},
		{"failure also to the protocol office", notice.Event{Kind: notice.RequestFailed, Tenant: "c_g999", Batch: "b1"},
			"acquisti@comune.prato.test,protocollo@comune.prato.test", "Servizio acquisti", func(n Notice) bool { return n.Reason != "" }},
		{"overdue also to the protocol office", notice.Event{Kind: notice.Overdue, Tenant: "c_g999", Batch: "b1", Days: 10},
			"acquisti@comune.prato.test,protocollo@comune.prato.test", "Servizio acquisti", func(n Notice) bool { return n.Days == 10 }},
		{"triage to the protocol office only", notice.Event{Kind: notice.Triage, Tenant: "c_g999", Triage: "t1"},
			"protocollo@comune.prato.test", "Ufficio protocollo", func(n Notice) bool { return n.Link == "https://casellario.comune.prato.test/#/smistamento/t1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := r.Notice(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(n.To, ",") != tt.to || n.Office != tt.office || n.Comune != "Comune di Prato" || !tt.check(n) {
				t.Fatalf("notice %+v", n)
			}
			if _, _, err := Render(n); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, ev := range []notice.Event{
		{Kind: notice.Delivered, Tenant: "c_x000", Batch: "b1"},
		{Kind: notice.Delivered, Tenant: "c_g999", Batch: "missing"},
		{Kind: notice.ListReceived, Tenant: "c_g999", Office: "SUAP", Upload: "missing"},
		{Kind: "bogus", Tenant: "c_g999"},
	} {
		if _, err := r.Notice(context.Background(), ev); err == nil {
			t.Errorf("%+v resolved", ev)
		}
	}
}
