package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/config/configtest"
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

func (b batches) GetUpload(_ context.Context, tenant, id string) (domain.Upload, error) {
	return domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", FileName: "elenco.csv"}, nil
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
		Resolver: notify.Resolver{Tenants: tenants.Demo(), Store: batches{"b1": {ID: "b1", Tenant: "c_g999", Office: "SUAP",
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

// TestSetup checks notify's own wiring: the relay from the configuration.
func TestSetup(t *testing.T) {
	c := configtest.Complete(t)
	c.SMTP = config.SMTP{Host: "smtp.example.test", Port: 2525, From: "casellario@example.test", User: "u", TLS: "implicit"}
	c.Web.PublicURL = "https://casellario.comune.prato.test/"
	d, log, err := setup(context.Background(), c)
	if err != nil || log == nil {
		t.Fatal(err)
	}
	if m := d.Mailer; m.Host != "smtp.example.test" || m.Port != 2525 || m.From != c.SMTP.From || m.Username != "u" || m.TLS != "implicit" {
		t.Errorf("mailer %+v", m)
	}
	if d.Resolver.Tenants == nil || d.Resolver.Store == nil || d.Resolver.PageURL != c.Web.PublicURL {
		t.Errorf("resolver %+v", d.Resolver)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no SMTP host", func(c *config.Config) { c.SMTP.Host = "" }, "CASELLARIO_SMTP_HOST"},
		{"no sender", func(c *config.Config) { c.SMTP.From = "" }, "CASELLARIO_SMTP_FROM"},
		{"password secret unreachable", func(c *config.Config) { c.SMTP.Secret = "casellario/smtp" }, "casellario/smtp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Complete(t)
			tt.change(&c)
			if _, _, err := setup(context.Background(), c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}
