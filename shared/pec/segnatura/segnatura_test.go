package segnatura

import (
	"strings"
	"testing"
	"time"
)

func TestMarshalParseValidate(t *testing.T) {
	s := &Segnatura{}
	s.Intestazione.Identificatore = Identificatore{CodiceAmministrazione: "c_g999", CodiceAOO: "A", CodiceRegistro: "PG", NumeroRegistrazione: "0000001"}
	s.SetDate(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	s.Intestazione.Oggetto = "Richiesta"
	s.Descrizione.DocumentoPrimario = NewDocumento("a.pdf", []byte("x"))
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `xmlns="http://www.agid.gov.it/protocollo/"`) || !strings.Contains(string(b), `versione="3.0.0"`) {
		t.Errorf("xml: %s", b)
	}
	p, err := Parse(b)
	if err != nil || p.Intestazione.Identificatore != s.Intestazione.Identificatore {
		t.Fatalf("parse: %v %+v", err, p)
	}
	tests := []struct {
		name string
		mod  func(*Segnatura)
		want string
	}{
		{"registro", func(s *Segnatura) { s.Intestazione.Identificatore.CodiceRegistro = "bad registro!" }, "CodiceRegistro"},
		{"numero", func(s *Segnatura) { s.Intestazione.Identificatore.NumeroRegistrazione = "123" }, "NumeroRegistrazione"},
		{"data", func(s *Segnatura) { s.Intestazione.Identificatore.DataRegistrazione = "02/01/2025" }, "DataRegistrazione"},
		{"amministrazione", func(s *Segnatura) { s.Intestazione.Identificatore.CodiceAmministrazione = "" }, "CodiceAmministrazione"},
		{"aoo", func(s *Segnatura) { s.Intestazione.Identificatore.CodiceAOO = "" }, "CodiceAOO"},
		{"oggetto", func(s *Segnatura) { s.Intestazione.Oggetto = "" }, "Oggetto"},
		{"primario", func(s *Segnatura) { s.Descrizione.DocumentoPrimario = Documento{} }, "DocumentoPrimario"},
	}
	for _, tc := range tests {
		c := *s
		tc.mod(&c)
		if _, err := c.Marshal(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	for _, in := range []string{"<x", `<SegnaturaInformatica xmlns="http://www.agid.gov.it/protocollo/" versione="2"/>`, strings.Repeat(" ", 2<<20)} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%.20q) succeeded", in)
		}
	}
}
