package poll

import (
	"context"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// A reader that panics on a message fails that message's attempt with an
// error naming the panic's kind, never the message; the run survives.
func TestHandleSafelyRecovers(t *testing.T) {
	h := &Handler{} // no Docs: storing the message panics
	tn := tenants.Demo().Tenants[0]
	var ms MailboxSummary
	_, err := h.handleSafely(context.Background(), &tn, []byte("From: a@b.test\r\n\r\nsegreto RSSMRA80A01H501U\r\n"), &ms)
	if err == nil || !strings.Contains(err.Error(), "panicked") || strings.Contains(err.Error(), "RSSMRA") {
		t.Fatalf("err = %v", err)
	}
}

func TestContainsAddress(t *testing.T) {
	const p = "casellario@pec.procura.prato.test"
	for text, want := range map[string]bool{
		`"Per conto di: casellario@pec.procura.prato.test" <posta-certificata@gestore.it>`: true,
		"CASELLARIO@PEC.PROCURA.PRATO.TEST":                                                true,
		"<casellario@pec.procura.prato.test>":                                              true,
		"casellario@pec.procura.prato.test.evil.example":                                   false,
		"falso.casellario@pec.procura.prato.test":                                          false,
		"xcasellario@pec.procura.prato.test":                                               false,
		"":                                                                                 false,
		"casellario@pec.procura.prato.tes":                                                 false,
		"a casellario@pec.procura.prato.test, b casellario@pec.procura.prato.test": true,
	} {
		if got := containsAddress(text, p); got != want {
			t.Errorf("containsAddress(%q) = %v, want %v", text, got, want)
		}
	}
	if containsAddress("anything", " ") {
		t.Error("an empty address matched")
	}
}

func TestReadHeader(t *testing.T) {
	raw := "From: =?utf-8?q?Per_conto_di=3A_casellario=40pec.procura.prato.test?= <posta@g.test>\r\n" +
		"X-Ricevuta: Accettazione\r\nX-Riferimento-Message-ID: <a@b>\r\nSubject: =?utf-8?q?Citt=C3=A0?=\r\n\r\n"
	h := readHeader([]byte(raw))
	if h.Ricevuta != "accettazione" || h.Ref != "<a@b>" || h.Subject != "Città" || len(h.Senders) != 1 ||
		!containsAddress(h.Senders[0], "casellario@pec.procura.prato.test") {
		t.Fatalf("%+v", h)
	}
	if h := readHeader([]byte("garbage without colon\r\nX-Trasporto: x")); h.Trasporto != "" || h.Ricevuta != "" {
		t.Fatalf("damaged header: %+v", h)
	}
}
