package notice

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestEventWireFormat(t *testing.T) {
	ev := Event{Kind: Certificates, Tenant: "c_g999", Batch: "b1", Count: 3}
	body, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(body)
	if err != nil || back != ev {
		t.Fatalf("%s → %+v %v", body, back, err)
	}
	for _, bad := range []string{"", "{", `{"kind":"delivered"}`, `{"tenant":"c_g999"}`} {
		if _, err := Unmarshal(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNopAndLog(t *testing.T) {
	ev := Event{Kind: Triage, Tenant: "c_g999", Triage: "t1", Reason: "not-pec"}
	if err := (Nop{}).Publish(context.Background(), ev); err != nil {
		t.Errorf("Nop: %v", err)
	}
	var buf bytes.Buffer
	if err := (Log{Logger: slog.New(slog.NewTextHandler(&buf, nil))}).Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind=triage", "tenant=c_g999", "triage=t1", "reason=not-pec"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q lacks %q", buf.String(), want)
		}
	}
}
