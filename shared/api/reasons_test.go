package api

import (
	"strings"
	"testing"
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
