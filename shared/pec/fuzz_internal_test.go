package pec

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/charset"
)

var daticertSeeds = []string{
	daticertOK,
	`<postacert tipo="accettazione"/>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><postacert><dati><data zona="+0100"><giorno>x</giorno></data></dati></postacert>`,
	`<?xml version="1.0"?><!DOCTYPE postacert SYSTEM "postacert.dtd"><postacert tipo="avvenuta-consegna"><!-- c --><intestazione><mittente><![CDATA[a@b]]></mittente></intestazione></postacert>`,
	`<postacert tipo="errore-consegna" errore="no-dest"><intestazione><oggetto>R&#18;ichiesta &amp; altro</oggetto></intestazione><dati><ricezione>a</ricezione><ricezione>b</ricezione><msgid>&lt;m@x&gt;</msgid></dati></postacert>`,
	"<postacert tipo='presa-in-carico'><intestazione><oggetto>Citt\x16 \xe0</oggetto><destinatari>x</destinatari></intestazione></postacert>",
	`<p:postacert xmlns:p="urn:x" tipo="accettazione"><p:intestazione><p:mittente>a</p:mittente></p:intestazione></p:postacert>`,
}

// FuzzDaticertScanner holds the hand-written scanner to encoding/xml: a
// document encoding/xml reads must be read with the same values.
func FuzzDaticertScanner(f *testing.F) {
	for _, s := range daticertSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, _, err := ParseDaticert(doc)
		if err == nil {
			if _, err := d.Marshal(); err != nil {
				t.Logf("marshal: %v", err)
			}
		}
		var x xmlDaticert
		dec := xml.NewDecoder(bytes.NewReader(doc))
		dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) { return charset.Reader(label, r) }
		dec.Strict = true
		if dec.Decode(&x) != nil || len(doc) > MaxDaticertSize {
			return
		}
		raw, err := scanDaticert(doc)
		if err != nil {
			t.Fatalf("encoding/xml reads it, the scanner does not: %v", err)
		}
		got := []string{raw.tipo, raw.mittente, raw.risposte, raw.oggetto, raw.gestore, raw.zona, raw.giorno, raw.ora,
			raw.identificativo, raw.msgid, raw.consegna, raw.erroreEsteso, strings.Join(raw.ricezione, "|")}
		want := []string{x.Tipo, x.Intestazione.Mittente, x.Intestazione.Risposte, x.Intestazione.Oggetto, x.Dati.GestoreEmittente,
			x.Dati.Data.Zona, x.Dati.Data.Giorno, x.Dati.Data.Ora, x.Dati.Identificativo, x.Dati.Msgid, x.Dati.Consegna,
			x.Dati.ErroreEsteso, strings.Join(x.Dati.Ricezione, "|")}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("field %d: scanner %q, encoding/xml %q", i, got[i], want[i])
			}
		}
		if raw.errore != x.Errore || len(raw.destinatari) != len(x.Intestazione.Destinatari) || raw.ricevuta != (x.Dati.Ricevuta != nil) {
			t.Fatalf("errore %q/%q, destinatari %d/%d, ricevuta %v/%v", raw.errore, x.Errore, len(raw.destinatari),
				len(x.Intestazione.Destinatari), raw.ricevuta, x.Dati.Ricevuta != nil)
		}
		for i, r := range raw.destinatari {
			if r.value != x.Intestazione.Destinatari[i].Value || r.tipo != x.Intestazione.Destinatari[i].Tipo {
				t.Fatalf("destinatari %d: %+v / %+v", i, r, x.Intestazione.Destinatari[i])
			}
		}
	})
}

// FuzzBase64 holds the block decoder to the standard library's stream
// decoder with white space removed: same bytes, same failures.
func FuzzBase64(f *testing.F) {
	for _, s := range []string{
		"UmljaGllc3RhIGNlcnRpZmljYXRp\r\nUmljaGllc3RhIGNlcnRpZmljYXRp\r\n",
		"QQ==\r\n", "QQ==\r\nQUFB\r\n", "QUF\r\nCQQ==", "QU FC\r\n\tQUFC", "QQ", "", "\r\n\r\n", "J..GCg==", "MII...njA==",
		strings.Repeat(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfe}, 57))+"\r\n", 2000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		want, werr := io.ReadAll(base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: bytes.NewReader(src)}))
		var got bytes.Buffer
		stage, out := make([]byte, 0, stageSize+128), make([]byte, stageSize)
		n, gerr := decodeBase64(&got, src, stage, out)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("stream decoder error %v, block decoder error %v", werr, gerr)
		}
		if werr == nil && (!bytes.Equal(got.Bytes(), want) || n != int64(len(want))) {
			t.Fatalf("decoded %d bytes, want %d", n, len(want))
		}
	})
}
