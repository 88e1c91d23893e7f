package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestItalianReason(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"refused by the Procura: numero di protocollo mancante", "La Procura ha respinto la richiesta: numero di protocollo mancante"},
		{"non-accettazione (errore altro): messaggio troppo grande", "avviso di non accettazione"},
		{"errore-consegna (errore no-dest)", "mancata consegna"},
		{"protocol registration refused: 422 AOO unknown", "protocollo generale"},
		{"unreadable list: encoding", "non è un elenco leggibile"},
		{"something nobody foresaw", "assistenza"},
	}
	for _, tt := range tests {
		got := italianReason(tt.in)
		if !strings.Contains(got, tt.want) || (tt.in == "" && got != "") {
			t.Errorf("italianReason(%q) = %q, want it to contain %q", tt.in, got, tt.want)
		}
		if tt.in != "" && strings.Contains(got, "refused") {
			t.Errorf("English left in %q", got)
		}
	}
}

func TestTriageView(t *testing.T) {
	for in, want := range map[string]string{
		"avvenuta-consegna receipt with a signature that is untrusted (unknown signer): kept, no state change until confirmed": "firma non verificata",
		"not a PEC message (ordinary mail or a delivery status notification)":                                                  "non PEC",
		"reply from the Procura quoting protocol number(s) 0000042 that match no batch":                                        "non corrisponde",
		"certificate names nobody of the batch":                                                                                "da esaminare",
	} {
		b, err := json.Marshal(viewTriage(domain.TriageItem{ID: "t1", Reason: in}))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.Unmarshal(b, &got)
		if got["id"] != "t1" || !strings.Contains(got["reason"].(string), want) || got["reason_detail"] != in {
			t.Errorf("%q → %s", in, b)
		}
	}
}
