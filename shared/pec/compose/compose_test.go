package compose

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
)

func validSegnatura() *segnatura.Segnatura {
	s := &segnatura.Segnatura{}
	s.Intestazione.Identificatore = segnatura.Identificatore{CodiceAmministrazione: "c_g999", CodiceAOO: "A", CodiceRegistro: "PG", NumeroRegistrazione: "0000001"}
	s.SetDate(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	s.Intestazione.Oggetto = "Richiesta"
	return s
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	id, err := Write(&b, Mail{
		From: "protocollo@pec.comune.example", To: []string{"procura@pec.example"}, Cc: []string{"copia@pec.example"},
		Subject: "Richiesta", Text: "testo", MessageID: "<fisso@comune.example>",
		Attachments: []Attachment{{Name: "a.pdf", ContentType: "application/pdf", Data: []byte("%PDF")}},
		Segnatura:   validSegnatura(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if id != "<fisso@comune.example>" {
		t.Errorf("id = %q", id)
	}
	m, err := pec.Parse(b.Bytes(), pec.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageID != id || m.Kind != pec.KindNonPEC || m.Subject != "Richiesta" {
		t.Errorf("read back: %q %q %q", m.MessageID, m.Kind, m.Subject)
	}
	var names []string
	for _, a := range m.Attachments() {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "segnatura.xml,a.pdf" {
		t.Errorf("attachments = %v", names)
	}
	r, _ := m.Attachments()[0].Open()
	var x bytes.Buffer
	_, _ = x.ReadFrom(r)
	s, err := segnatura.Parse(x.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s.Descrizione.DocumentoPrimario.Nome != "a.pdf" || s.Descrizione.DocumentoPrimario.Impronta.Valore == "" {
		t.Errorf("segnatura documento = %+v", s.Descrizione.DocumentoPrimario)
	}
}

func TestNewErrors(t *testing.T) {
	bad := validSegnatura()
	bad.Intestazione.Identificatore.NumeroRegistrazione = "12"
	att := []Attachment{{Name: "a.pdf", Data: []byte("x")}}
	tests := []struct {
		name string
		m    Mail
		want string
	}{
		{"no from", Mail{To: []string{"a@b.example"}}, "From and To"},
		{"no to", Mail{From: "a@b.example"}, "From and To"},
		{"bad from", Mail{From: "not an address", To: []string{"a@b.example"}}, "From"},
		{"bad to", Mail{From: "a@b.example", To: []string{"@@"}}, "To"},
		{"bad cc", Mail{From: "a@b.example", To: []string{"a@b.example"}, Cc: []string{"@@"}}, "Cc"},
		{"nameless attachment", Mail{From: "a@b.example", To: []string{"a@b.example"}, Attachments: []Attachment{{Data: []byte("x")}}}, "without name"},
		{"sign without signer", Mail{From: "a@b.example", To: []string{"a@b.example"}, Attachments: []Attachment{{Name: "a", Sign: true}}}, "no Signer"},
		{"segnatura without documents", Mail{From: "a@b.example", To: []string{"a@b.example"}, Segnatura: validSegnatura()}, "without documents"},
		{"invalid segnatura", Mail{From: "a@b.example", To: []string{"a@b.example"}, Segnatura: bad, Attachments: att}, "NumeroRegistrazione"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
