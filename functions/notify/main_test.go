package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/mailsink"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/notify"
	"github.com/casellario-pec/casellario/shared/tenants"
)

type batches map[string]domain.Batch

func (b batches) GetBatch(_ context.Context, tenant, id string) (domain.Batch, error) {
	if x, ok := b[id]; ok {
		return x, nil
	}
	return domain.Batch{}, errors.New("no batch")
}

// TestHandle sends queued events through a real SMTP server (the local mail sink):
// good events are mailed; a failing one and a malformed one are handed back to
// SQS (the malformed one ends in the dead-letter queue, kept for a person).
func TestHandle(t *testing.T) {
	needs.Server(t, needs.MailSink)
	sink, err := mailsink.Start(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.SMTPAddr)
	p, _ := strconv.Atoi(port)
	d := notify.Direct{
		Resolver: notify.Resolver{Tenants: tenants.Demo(), Batches: batches{"b1": {ID: "b1", Tenant: "c_g999", Office: "SUAP",
			Protocol: domain.Protocol{Number: "0000042", Date: domain.Date{Year: 2026, Month: time.November, Day: 25}}}}},
		Mailer: &notify.Mailer{From: "casellario@comune.prato.test", Host: host, Port: p, TLS: "none"},
	}
	ev := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: `{"kind":"certificates","tenant":"c_g999","batch":"b1","count":3}`},
		{MessageId: "m2", Body: `{"kind":"delivered","tenant":"c_g999","batch":"missing"}`},
		{MessageId: "m3", Body: `not json`},
		{MessageId: "m4", Body: `{"kind":"list-received","tenant":"c_g999","office":"SUAP","upload":"u1","counts":{"rows":1,"valid":1}}`},
	}}
	resp, err := handle(context.Background(), d, slog.New(slog.DiscardHandler), ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 2 || resp.BatchItemFailures[0].ItemIdentifier != "m2" || resp.BatchItemFailures[1].ItemIdentifier != "m3" {
		t.Fatalf("failures %+v, want m2 (for a retry) and m3 (for the dead-letter queue)", resp.BatchItemFailures)
	}
	got := sink.Messages()
	if len(got) != 2 || got[0].Notice != "certificates" || got[1].Notice != "list-received" || got[0].To[0] != "suap@comune.prato.test" {
		t.Fatalf("mailed %+v", got)
	}
}

func TestSetupNeedsConfiguration(t *testing.T) {
	t.Setenv("CASELLARIO_TABLE", "t")
	t.Setenv("CASELLARIO_TENANTS", "demo")
	t.Setenv("CASELLARIO_SMTP_HOST", "")
	if _, err := setup(context.Background()); err == nil {
		t.Fatal("setup without an SMTP host")
	}
	t.Setenv("CASELLARIO_SMTP_HOST", "smtp.example.test")
	t.Setenv("CASELLARIO_SMTP_FROM", "casellario@example.test")
	t.Setenv("CASELLARIO_SMTP_PORT", "x")
	if _, err := setup(context.Background()); err == nil {
		t.Fatal("bad port accepted")
	}
	t.Setenv("CASELLARIO_SMTP_PORT", "2525")
	d, err := setup(context.Background())
	if err != nil || d.Mailer.Port != 2525 || d.Mailer.Host != "smtp.example.test" {
		t.Fatalf("setup: %+v %v", d.Mailer, err)
	}
}
