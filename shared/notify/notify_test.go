package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/mailsink"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/notice"
)

var proto = domain.Protocol{Number: "0012345", Date: domain.Date{Year: 2026, Month: time.November, Day: 25}}

func TestRender(t *testing.T) {
	base := Notice{Comune: "Comune di Prato", Office: "Servizio acquisti", To: []string{"acquisti@comune.prato.test"},
		FileName: "elenco marzo.xlsx", Uploaded: time.Date(2026, 11, 24, 8, 5, 0, 0, time.UTC), Protocol: proto, People: 12,
		Link: "https://casellario.comune.prato.test/#/richieste/b1"}
	tests := []struct {
		kind    notice.Kind
		change  func(*Notice)
		subject string
		body    []string
	}{
		{notice.ListReceived, func(n *Notice) { n.Counts = domain.Counts{Rows: 10, Valid: 8, Invalid: 2, Duplicates: 1} },
			"Elenco ricevuto «elenco marzo.xlsx»: 8 nominativi accettati, 2 righe da correggere",
			[]string{"l'elenco «elenco marzo.xlsx» caricato il 24/11/2026 alle 09:05 è stato ricevuto", "Righe lette: 10", "di cui 1 duplicate", "righe da correggere"}},
		{notice.ListReceived, func(n *Notice) { n.Counts = domain.Counts{Rows: 1, Valid: 1} },
			"Elenco ricevuto «elenco marzo.xlsx»: 1 nominativo accettato", []string{"prossima richiesta"}},
		{notice.ListRejected, func(n *Notice) { n.Reason = "Il file non è un elenco leggibile." }, "Elenco non accettato «elenco marzo.xlsx»: nessuna richiesta inviata",
			[]string{"non è stato accettato", "Motivo: Il file non è un elenco leggibile."}},
		{notice.RequestSent, nil, "Richiesta inviata alla Procura: prot. n. 0012345 del 25/11/2026", []string{"12 certificati"}},
		{notice.Delivered, nil, "Richiesta prot. n. 0012345 consegnata alla Procura", []string{"la PEC della richiesta prot. n. 0012345 del 25/11/2026", "avvenuta consegna"}},
		{notice.Certificates, nil, "Certificati disponibili: richiesta prot. n. 0012345", []string{"alla richiesta prot. n. 0012345", "12 certificati sono disponibili", "non sono allegati"}},
		{notice.RequestFailed, func(n *Notice) { n.Reason = "La Procura ha respinto la richiesta." }, "Richiesta non riuscita: prot. n. 0012345", []string{"Motivo: La Procura ha respinto"}},
		{notice.NotDelivered, nil, "Consegna non ancora confermata: richiesta prot. n. 0012345", []string{"24 ore"}},
		{notice.Triage, nil, "Messaggio PEC da smistare", []string{"«Da smistare»"}},
		{notice.Overdue, func(n *Notice) { n.Days = 11 }, "Nessuna risposta da 11 giorni: richiesta prot. n. 0012345", []string{"sollecitare"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			n := base
			n.Kind = tt.kind
			if tt.change != nil {
				tt.change(&n)
			}
			subject, body, err := Render(n)
			if err != nil {
				t.Fatal(err)
			}
			if subject != tt.subject {
				t.Errorf("subject %q, want %q", subject, tt.subject)
			}
			for _, w := range append(tt.body, "Gentile Servizio acquisti", "Apri nel servizio: https://casellario.comune.prato.test/#/richieste/b1", "Comune di Prato") {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			// Internal ids never reach a clerk's mailbox: only the link carries one.
			if strings.Contains(strings.ReplaceAll(body, n.Link, ""), "b1") {
				t.Errorf("an id in the text:\n%s", body)
			}
		})
	}
	if _, _, err := Render(Notice{Kind: "bogus"}); err == nil {
		t.Error("unknown kind rendered")
	}
}

func TestSendThroughSink(t *testing.T) {
	needs.Server(t, needs.MailSink)
	sink, err := mailsink.Start(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	host, port, _ := net.SplitHostPort(sink.SMTPAddr)
	p, _ := strconv.Atoi(port)
	m := &Mailer{From: "casellario@comune.prato.test", Host: host, Port: p, TLS: "none"}
	n := Notice{Kind: notice.RequestSent, Comune: "Comune di Prato", Office: "SUAP", To: []string{"suap@comune.prato.test"}, Protocol: proto, People: 3}
	if err := m.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(sink.HTTPURL + "/messages?to=suap@comune.prato.test")
	if err != nil {
		t.Fatal(err)
	}
	var got []mailsink.Message
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got) != 1 || got[0].Notice != string(notice.RequestSent) || !strings.Contains(got[0].Subject, "0012345") {
		t.Fatalf("sink holds %+v", got)
	}
	raw, err := http.Get(sink.HTTPURL + "/messages/1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if !strings.Contains(string(b), "X-Casellario-Notice: request-sent") {
		t.Errorf("raw message lacks the notice header:\n%s", b)
	}
	if r, _ := http.Get(sink.HTTPURL + "/messages/7"); r == nil || r.StatusCode != 404 {
		t.Error("missing message not 404")
	}
	if r, _ := http.Get(sink.HTTPURL + "/messages?to=nobody@x.test"); r != nil {
		var none []mailsink.Message
		_ = json.NewDecoder(r.Body).Decode(&none)
		r.Body.Close()
		if len(none) != 0 {
			t.Errorf("filter returned %d", len(none))
		}
	}
}

func TestSendErrors(t *testing.T) {
	ctx := context.Background()
	n := Notice{Kind: notice.Delivered, To: []string{"a@b.test"}, Protocol: proto}
	tests := []struct {
		name string
		m    *Mailer
		n    Notice
		want string
	}{
		{"no recipient", &Mailer{From: "x@y.test", Host: "127.0.0.1", Port: 1, TLS: "none"}, Notice{Kind: notice.Delivered}, "no recipient"},
		{"bad sender", &Mailer{From: "not an address", Host: "127.0.0.1", Port: 1, TLS: "none"}, n, "sender"},
		{"refused", &Mailer{From: "x@y.test", Host: "127.0.0.1", Port: 1, TLS: "none", Timeout: time.Second}, n, "sending"},
		{"unknown kind", &Mailer{From: "x@y.test", Host: "127.0.0.1", Port: 1}, Notice{Kind: "x", To: []string{"a@b.test"}}, "unknown kind"},
	}
	for _, tt := range tests {
		err := tt.m.Send(ctx, tt.n)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
