package api

import (
	"encoding/json"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestTriageView(t *testing.T) {
	for _, tt := range []struct {
		reason domain.Reason
		want   string
	}{
		{domain.Because(domain.ReasonBadSignature, "avvenuta-consegna receipt with a signature that is untrusted"), domain.ReasonBadSignature.Italian()},
		{domain.Because(domain.ReasonNotPEC, "not a PEC message"), domain.ReasonNotPEC.Italian()},
		{domain.Because("no-such-code", "recorded by a later version"), domain.ReasonOther.Italian()},
	} {
		b, err := json.Marshal(viewTriage(domain.TriageItem{ID: "t1", Reason: tt.reason}))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got["id"] != "t1" || got["reason"] != tt.want || got["reason_detail"] != tt.reason.Detail || got["reason_code"] != string(tt.reason.Code) {
			t.Errorf("%v → %s", tt.reason, b)
		}
	}
}
