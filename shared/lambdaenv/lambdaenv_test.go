package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/config/configtest"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/notice/queue"
)

func TestLoad(t *testing.T) {
	e, err := Load(context.Background(), configtest.Complete(t))
	if err != nil || e.Store == nil || e.Tenants == nil || e.Log == nil || e.AWS.Region != "eu-south-1" {
		t.Fatalf("%+v %v", e, err)
	}
	if d, err := e.Documents(); err != nil || d == nil {
		t.Fatalf("documents: %v", err)
	}
	if _, ok := e.Notices().(notice.Log); !ok {
		t.Errorf("no queue: notices %T, want the log", e.Notices())
	}
	e.Config.NotifyQueueURL = "http://127.0.0.1:1/queue/notify"
	if _, ok := e.Notices().(queue.SQS); !ok {
		t.Errorf("queue set: notices %T", e.Notices())
	}

	tests := []struct {
		name   string
		change func(*config.Config)
		want   string
	}{
		{"no table", func(c *config.Config) { c.Store.Table = "" }, "CASELLARIO_TABLE"},
		{"no tenants", func(c *config.Config) { c.Tenants = "" }, "CASELLARIO_TENANTS"},
		{"missing tenants file", func(c *config.Config) { c.Tenants = "/nonexistent.json" }, "tenants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := configtest.Complete(t)
			tt.change(&c)
			if _, err := Load(context.Background(), c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestDocumentsNeedBothBuckets(t *testing.T) {
	for _, c := range []config.Docs{{UploadsBucket: "uploads"}, {DocumentsBucket: "documents"}, {}} {
		cfg := configtest.Complete(t)
		cfg.Docs = c
		e, err := Load(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Documents(); err == nil || !strings.Contains(err.Error(), "BUCKET") {
			t.Errorf("%+v: error %v", c, err)
		}
	}
}

// TestLoggerRequestID: a line logged with an invocation's context carries
// its request id; one logged without has none.
func TestLoggerRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf).With("function", "poll")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.InfoContext(ctx, "one")
	log.Info("two")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	for i, want := range []string{"req-1", ""} {
		var m map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &m); err != nil {
			t.Fatal(err)
		}
		got, _ := m["request_id"].(string)
		if got != want || m["function"] != "poll" {
			t.Errorf("line %d: %s", i, lines[i])
		}
	}
}
