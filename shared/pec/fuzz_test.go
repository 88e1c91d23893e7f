package pec_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
)

const fuzzDaticert = `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="avvenuta-consegna" errore="nessuno"><intestazione><mittente>a@pec.example</mittente>
<destinatari tipo="certificato">b@pec.example</destinatari><risposte>a@pec.example</risposte><oggetto>Prova</oggetto></intestazione>
<dati><gestore-emittente>G</gestore-emittente><data zona="+0100"><giorno>01/02/2025</giorno><ora>10:11:12</ora></data>
<identificativo>id@pec.example</identificativo><msgid>&lt;m@x&gt;</msgid><ricevuta tipo="completa"/><consegna>b@pec.example</consegna></dati></postacert>`

func FuzzRead(f *testing.F) {
	p := getPKI(f)
	original, _ := composeOriginal(f, p, nil)
	f.Add(original)
	for _, k := range []pec.Kind{pec.KindAccettazione, pec.KindAvvenutaConsegna, pec.KindPostaCertificata, pec.KindAnomalia} {
		raw, _ := writeKind(f, p, k, original, "")
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
		f.Add(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")))
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--"))
	f.Add([]byte("From: a@b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBiDQoNCng="))
	f.Add([]byte("X-Ricevuta: accettazione\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\n\r\nMII...njA=="))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := pec.Parse(data, pec.ReadOptions{MaxSize: 4 << 20, TrustStore: p.ca.Pool()})
		if err != nil {
			return
		}
		if !m.Kind.Valid() {
			t.Fatalf("kind %q", m.Kind)
		}
		switch m.Signature.Status {
		case pec.SignatureValid, pec.SignatureUntrusted, pec.SignatureInvalid, pec.SignatureAbsent:
		default:
			t.Fatalf("signature status %q", m.Signature.Status)
		}
		_ = m.View()
		if m.Original != nil {
			_, _ = m.Original.Text()
		}
		for _, a := range m.Attachments() {
			if r, err := a.Open(); err == nil {
				_, _ = io.Copy(io.Discard, r)
			}
		}
	})
}

func FuzzDaticert(f *testing.F) {
	f.Add([]byte(fuzzDaticert))
	f.Add([]byte(`<postacert tipo="accettazione"/>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><postacert><dati><data zona="+0100"><giorno>x</giorno></data></dati></postacert>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _, err := pec.ParseDaticert(data)
		if err != nil {
			return
		}
		if _, err := d.Marshal(); err != nil {
			t.Logf("marshal: %v", err) // invalid XML characters can come through; no panic is what matters
		}
	})
}
