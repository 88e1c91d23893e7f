package pec_test

import (
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
)

// TestSampleQuirks reproduces, in messages the test writes, each quirk of the
// public samples in ../shared/fixtures/pec (TestConformanceFixtures reads the
// samples themselves where they are present), so that every clone covers them.
func TestSampleQuirks(t *testing.T) {
	acc := provHeaders("ACCETTAZIONE: Test PEC", "X-Ricevuta: accettazione\r\n")
	accDati := datiXML{tipo: "accettazione", oggetto: "Test PEC"}.String()
	iso := "Content-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"--Questo =E8 un Messaggio di Posta Certificata--\r\nIl messaggio originale =E8 incluso in allegato, per aprirlo cliccare sul fi=\r\nle \"postacert.eml\".\r\n"
	badB64Original := "From: protocollo@pec.comune.example\r\nTo: procura@pec.giustizia.example\r\nSubject: Subject\r\n" +
		"Message-ID: <orig-1@pec.comune.example>\r\nX-TipoRicevuta: complet\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n" +
		"--o\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nIl certificato =E8 allegato.\r\n" +
		"--o\r\nContent-Type: application/pdf; name=\"=pdf.pdf?=\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"=pdf.pdf?=\"\r\n\r\nJ..GCg==\r\n--o--\r\n"
	dsn := "From: Mail Delivery Subsystem <mailer-daemon@mail.example>\r\nTo: a@mail.example\r\nSubject: Delivery Status Notification (Failure)\r\n" +
		"Message-ID: <dsn-1@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; boundary=\"d\"; report-type=delivery-status\r\n\r\n" +
		"--d\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mail.example\r\n\r\nFinal-Recipient: rfc822; b@mail.example\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"--d\r\nContent-Type: message/rfc822\r\n\r\nFrom: a@mail.example\r\nTo: b@mail.example\r\nSubject: x\r\n\r\nciao\r\n--d--\r\n"
	runScenarios(t, []scenario{
		{name: "signature cut short by the publisher", msg: handMessage{headers: acc, dati: accDati, sig: "cut"},
			kind: pec.KindAccettazione, sig: pec.SignatureInvalid, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if !strings.Contains(m.Signature.Reason, "not valid base64") || m.PECID == "" {
					t.Errorf("reason %q pec id %q", m.Signature.Reason, m.PECID)
				}
			}},
		{name: "message ending before the signature part", msg: handMessage{headers: acc, dati: accDati, sig: "missing"},
			kind: pec.KindAccettazione, sig: pec.SignatureAbsent, problem: pec.ProblemTruncated,
			check: func(t *testing.T, m *pec.Message) {
				if !m.HasProblem(pec.ProblemSignature) || m.Daticert == nil {
					t.Errorf("problems %v", m.Problems)
				}
			}},
		{name: "X-Riferimento-Message-ID differs from daticert msgid",
			msg: handMessage{headers: strings.Replace(provHeaders("AVVISO DI MANCATA CONSEGNA: Test PEC", "X-Ricevuta: errore-consegna\r\n"),
				"<orig-1@pec.comune.example>", "<orig-1@altro.example>", 1),
				dati: datiXML{tipo: "errore-consegna", errore: "no-dest", oggetto: "Test PEC"}.String()},
			kind: pec.KindErroreConsegna, sig: pec.SignatureValid, problem: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if m.RefMessageID != "<orig-1@pec.comune.example>" || m.Error != pec.ErrorNoDest {
					t.Errorf("ref %q error %q", m.RefMessageID, m.Error)
				}
			}},
		{name: "invalid base64 in a body part, X-TipoRicevuta: complet in the original, iso-8859-1 quoted-printable text",
			msg: handMessage{headers: provHeaders("CONSEGNA: Subject", "X-Ricevuta: avvenuta-consegna\r\n"), text: iso,
				dati: datiXML{tipo: "avvenuta-consegna", oggetto: "Subject", extra: `<ricevuta tipo="completa"/>`, consegna: "procura@pec.giustizia.example"}.String(),
				post: badB64Original},
			kind: pec.KindAvvenutaConsegna, sig: pec.SignatureValid, problem: pec.ProblemEncoding, absent: pec.ProblemHeader,
			check: func(t *testing.T, m *pec.Message) {
				if m.ReceiptType != pec.ReceiptCompleta || m.Original == nil {
					t.Fatalf("receipt type %q original %v", m.ReceiptType, m.Original != nil)
				}
				if txt, err := m.Original.Text(); err != nil || txt != "Il certificato è allegato." {
					t.Errorf("text %q %v", txt, err)
				}
				if a := m.Attachments(); len(a) != 1 || a[0].SHA256 != "" {
					t.Errorf("attachments %+v", a)
				}
			}},
		{name: "header spelled X-Tiporicevuta",
			msg: handMessage{headers: provHeaders("POSTA CERTIFICATA: Richiesta certificati", "X-Trasporto: posta-certificata\r\nX-Tiporicevuta: breve\r\n"),
				dati: datiXML{tipo: "posta-certificata"}.String(), post: plainOriginal},
			kind: pec.KindPostaCertificata, sig: pec.SignatureValid, absent: pec.ProblemHeader,
			check: func(t *testing.T, m *pec.Message) {
				if m.ReceiptType != pec.ReceiptBreve {
					t.Errorf("receipt type %q", m.ReceiptType)
				}
			}},
		{name: "X-TipoRicevuta: complet on the provider's message",
			msg: handMessage{headers: provHeaders("POSTA CERTIFICATA: Richiesta certificati", "X-Trasporto: posta-certificata\r\nX-TipoRicevuta: complet\r\n"),
				dati: datiXML{tipo: "posta-certificata", extra: `<ricevuta tipo="completa"/>`}.String(), post: plainOriginal},
			kind: pec.KindPostaCertificata, problem: pec.ProblemHeader, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if m.ReceiptType != pec.ReceiptCompleta {
					t.Errorf("receipt type %q", m.ReceiptType)
				}
			}},
		{name: "plain mail", msg: handMessage{headers: "From: a@mail.example\r\nTo: b@mail.example\r\nSubject: Test - Simple Mail\r\n", sig: "none"},
			kind: pec.KindNonPEC, sig: pec.SignatureAbsent,
			check: func(t *testing.T, m *pec.Message) {
				if m.DeliveryStatus || m.Format != "mail" || m.Original == nil {
					t.Errorf("dsn %v format %q", m.DeliveryStatus, m.Format)
				}
			}},
	})
	// An SMTP delivery status notification (multipart/report): not PEC.
	m, err := pec.Parse([]byte(dsn), pec.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != pec.KindNonPEC || !m.DeliveryStatus || !m.View().DSN || m.Signature.Status != pec.SignatureAbsent {
		t.Errorf("dsn: kind %q dsn %v signature %q", m.Kind, m.DeliveryStatus, m.Signature.Status)
	}
}
