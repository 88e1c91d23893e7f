package main

import (
	"context"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/config/configtest"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/notice/queue"
)

// TestSetup checks intake's own wiring: the documents, and notices to the
// notify queue when one is configured, to the log otherwise.
func TestSetup(t *testing.T) {
	c := configtest.Complete(t)
	h, err := setup(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if h.Store == nil || h.Docs == nil || h.Tenants == nil || h.Log == nil {
		t.Fatalf("incomplete handler %+v", h)
	}
	if _, ok := h.Notify.(notice.Log); !ok {
		t.Errorf("without a queue, notices go to %T", h.Notify)
	}
	c.NotifyQueueURL = "http://127.0.0.1:1/queue/notify"
	if h, err = setup(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if q, ok := h.Notify.(queue.SQS); !ok || q.QueueURL != c.NotifyQueueURL {
		t.Errorf("with a queue, notices go to %#v", h.Notify)
	}
}

func TestSetupErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no uploads bucket", func(c *config.Config) { c.Docs.UploadsBucket = "" }, "CASELLARIO_UPLOADS_BUCKET"},
		{"no tenants", func(c *config.Config) { c.Tenants = "" }, "CASELLARIO_TENANTS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Complete(t)
			tt.change(&c)
			if _, err := setup(context.Background(), c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

// BenchmarkSetup measures the cold-start cost of the wiring (budget 50 ms).
func BenchmarkSetup(b *testing.B) {
	c := configtest.Complete(b)
	for b.Loop() {
		if _, err := setup(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
