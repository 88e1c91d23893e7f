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
	for _, s := range seedScenarios(f, p) {
		f.Add(s)
	}
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

// seedScenarios are the hand-made messages of the scenario tests: non-standard
// kinds, lenient daticert, subjects, re-wrapped and encrypted messages.
func seedScenarios(f *testing.F, p *testPKI) [][]byte {
	f.Helper()
	original, _ := composeOriginal(f, p, nil)
	envelope, _ := writeKind(f, p, pec.KindPostaCertificata, original, "")
	list := "From: lista@lista.example\r\nSubject: [lista] x\r\nMessage-ID: <l@lista.example>\r\n"
	msgs := [][]byte{
		handMessage{headers: provHeaders("AVVISO DI MANCATA CONSEGNA: x", "X-Ricevuta: mancata-consegna\r\n"), dati: datiXML{tipo: "errore-consegna"}.String()}.build(f, p),
		handMessage{headers: provHeaders("ACCETTAZIONE: x", "X-Ricevuta: non-accettazione-virus\r\n")}.build(f, p),
		handMessage{headers: provHeaders("x", ""), dati: datiXML{tipo: "consegnato", oggetto: "a&#18;b\x16c"}.String()}.build(f, p),
		handMessage{headers: provHeaders("POSTA CERTIFICATA: =?iso-8859-1?Q?citt=E0?=", "X-Trasporto: posta-certificata\r\nX-REM-Subject: x\r\n"),
			dati: datiXML{tipo: "posta-certificata", oggetto: "città"}.String(), post: plainOriginal}.build(f, p),
		handMessage{headers: provHeaders("ACCETTAZIONE: x", "X-Ricevuta: accettazione\r\n"), dati: datiXML{tipo: "accettazione"}.String(), sig: "cut"}.build(f, p),
		handMessage{headers: provHeaders("ACCETTAZIONE: x", "X-Ricevuta: accettazione\r\n"), dati: datiXML{tipo: "accettazione"}.String(), sig: "missing"}.build(f, p),
		rewrap(envelope, list),
		rewrap(rewrap(envelope, list), list),
		procuraReply(encryptedPart("certificato.pdf.p7m", "MIIBbm90IGNtcw==")),
	}
	return msgs
}

// FuzzRewrapped reads a message wrapped in a list message: the nested and
// re-wrapped path.
func FuzzRewrapped(f *testing.F) {
	p := getPKI(f)
	original, _ := composeOriginal(f, p, nil)
	envelope, _ := writeKind(f, p, pec.KindPostaCertificata, original, "")
	receipt, _ := writeKind(f, p, pec.KindAccettazione, original, "")
	f.Add(envelope)
	f.Add(receipt)
	f.Add(envelope[:len(envelope)/2])
	f.Add([]byte(plainOriginal))
	list := "From: lista@lista.example\r\nSubject: [lista] x\r\nMessage-ID: <l@lista.example>\r\n"
	f.Fuzz(func(t *testing.T, inner []byte) {
		raw := rewrap(inner, list)
		m, err := pec.Parse(raw, pec.ReadOptions{MaxSize: 4 << 20, TrustStore: p.ca.Pool()})
		if err != nil {
			t.Fatalf("a list message is always a message: %v", err)
		}
		if !m.Kind.Valid() || !bytes.Equal(m.Raw(), raw) {
			t.Fatalf("kind %q", m.Kind)
		}
		if m.Rewrapped != nil {
			if m.Rewrapped.Signature.Status != pec.SignatureAbsent || !m.HasProblem(pec.ProblemRewrapped) {
				t.Fatalf("re-wrapped %q, outer signature %q", m.Kind, m.Rewrapped.Signature.Status)
			}
		}
		_ = m.View()
		for _, a := range m.Attachments() {
			if r, err := a.Open(); err == nil {
				_, _ = io.Copy(io.Discard, r)
			}
		}
	})
}
