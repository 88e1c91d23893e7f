package domain

import (
	"strings"
	"testing"
)

func TestBatchChangeRules(t *testing.T) {
	day := Date{Year: 2026, Month: 12, Day: 2}
	prot := Protocol{Number: "0000012", Date: day, Register: "CPEC"}
	const msg = "<a@b>"
	tests := []struct {
		name   string
		c      BatchChange
		from   BatchState
		ver    int64
		number string
		msgID  string
		want   string // "" allowed; else a piece of the error
	}{
		{"protocolled", BatchChange{ID: "b", To: BatchProtocolled, Protocol: prot}, BatchQueued, 1, "", "", ""},
		{"sent", BatchChange{ID: "b", To: BatchSent}, BatchProtocolled, 2, "0000012", msg, ""},
		{"failed from queued", BatchChange{ID: "b", To: BatchFailed, Reason: Because(ReasonNotPEC, "x")}, BatchQueued, 1, "", "", ""},
		{"unknown state", BatchChange{ID: "b", To: "lost"}, BatchQueued, 1, "", "", "unknown state"},
		{"failed without reason", BatchChange{ID: "b", To: BatchFailed}, BatchQueued, 1, "", "", "a reason is required"},
		{"bad Message-ID", BatchChange{ID: "b", To: BatchSent, MessageID: "no-brackets"}, BatchProtocolled, 1, "0000012", "", "want <local@domain>"},
		{"expected another state", BatchChange{ID: "b", To: BatchSent, From: BatchQueued}, BatchProtocolled, 1, "0000012", msg, "not queued"},
		{"changed meanwhile", BatchChange{ID: "b", To: BatchSent, Version: 1}, BatchProtocolled, 2, "0000012", msg, "changed meanwhile"},
		{"backwards", BatchChange{ID: "b", To: BatchQueued}, BatchSent, 1, "0000012", msg, "cannot go from"},
		{"another number", BatchChange{ID: "b", To: BatchProtocolled, Protocol: Protocol{Number: "0000013", Date: day}}, BatchQueued, 1, "0000012", "", "registered already"},
		{"short number", BatchChange{ID: "b", To: BatchProtocolled, Protocol: Protocol{Number: "12", Date: day}}, BatchQueued, 1, "", "", "7 or more digits"},
		{"number without date", BatchChange{ID: "b", To: BatchProtocolled, Protocol: Protocol{Number: "0000012"}}, BatchQueued, 1, "", "", "7 or more digits"},
		{"protocolled without number", BatchChange{ID: "b", To: BatchProtocolled}, BatchQueued, 1, "", "", "a protocol number is required"},
		{"sent without number", BatchChange{ID: "b", To: BatchSent}, BatchProtocolled, 1, "", msg, "no protocol number"},
		{"sent without Message-ID", BatchChange{ID: "b", To: BatchSent}, BatchProtocolled, 1, "0000012", "", "no Message-ID"},
		{"another Message-ID", BatchChange{ID: "b", To: BatchSent, MessageID: "<c@d>"}, BatchProtocolled, 1, "0000012", msg, "has Message-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Check()
			if err == nil {
				err = tt.c.CheckAgainst(tt.from, tt.ver, tt.number, tt.msgID)
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		c    BatchChange
		want string
	}{
		{BatchChange{To: BatchSent, Detail: "sent again"}, "sent again"},
		{BatchChange{To: BatchFailed, Reason: Because(ReasonNotPEC, "x")}, "failed: "},
		{BatchChange{To: BatchProtocolled, Protocol: prot}, "protocolled as CPEC-0000012 of 02/12/2026"},
		{BatchChange{To: BatchDelivered}, "delivered"},
	} {
		if got := tt.c.EventDetail(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("EventDetail(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}
