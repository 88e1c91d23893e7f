package pec_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
)

// scenario is a message and what the reader must make of it.
type scenario struct {
	name    string
	msg     handMessage
	kind    pec.Kind
	sig     pec.SignatureStatus
	problem pec.ProblemCode // a problem that must be reported
	absent  pec.ProblemCode // a problem that must not be
	// no problem's text may contain notIn
	notIn string
	check func(t *testing.T, m *pec.Message)
}

func runScenarios(t *testing.T, tests []scenario) {
	t.Helper()
	p := getPKI(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.msg.build(t, p)
			m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: p.ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind {
				t.Errorf("kind = %q, want %q (%v)", m.Kind, tc.kind, m.Problems)
			}
			if tc.sig != "" && m.Signature.Status != tc.sig {
				t.Errorf("signature = %q (%s), want %q", m.Signature.Status, m.Signature.Reason, tc.sig)
			}
			if tc.problem != "" && !m.HasProblem(tc.problem) {
				t.Errorf("problem %q not reported: %v", tc.problem, m.Problems)
			}
			if tc.absent != "" && m.HasProblem(tc.absent) {
				t.Errorf("problem %q reported: %v", tc.absent, m.Problems)
			}
			for _, pr := range m.Problems {
				if tc.notIn != "" && strings.Contains(pr.String(), tc.notIn) {
					t.Errorf("problem %q says %q", pr, tc.notIn)
				}
			}
			if tc.check != nil {
				tc.check(t, m)
			}
			_ = m.View()
		})
	}
}

func problemText(m *pec.Message) string {
	var b strings.Builder
	for _, p := range m.Problems {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

// TestClassification: unknown or non-standard X-Ricevuta values fall back to
// daticert tipo and the subject; X-Trasporto is honoured; a signed message with
// daticert.xml is never ordinary mail.
func TestClassification(t *testing.T) {
	errDati := datiXML{tipo: "errore-consegna", errore: "no-dest", consegna: "procura@pec.giustizia.example"}.String()
	runScenarios(t, []scenario{
		{name: "X-Ricevuta mancata-consegna, daticert errore-consegna",
			msg:  handMessage{headers: provHeaders("AVVISO DI MANCATA CONSEGNA: Richiesta certificati", "X-Ricevuta: mancata-consegna\r\n"), dati: errDati},
			kind: pec.KindErroreConsegna, sig: pec.SignatureValid, problem: pec.ProblemUnknownKind, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if !strings.Contains(problemText(m), `non-standard X-Ricevuta value "mancata-consegna" read as errore-consegna`) {
					t.Errorf("problems: %v", m.Problems)
				}
				if m.DeliveredTo != "procura@pec.giustizia.example" || m.Error != pec.ErrorNoDest {
					t.Errorf("consegna %q error %q", m.DeliveredTo, m.Error)
				}
			}},
		{name: "X-Ricevuta mancata-consegna, no daticert",
			msg:  handMessage{headers: provHeaders("AVVISO DI MANCATA CONSEGNA: Richiesta certificati", "X-Ricevuta: mancata-consegna\r\n")},
			kind: pec.KindErroreConsegna, problem: pec.ProblemNoDaticert},
		{name: "X-Ricevuta non-accettazione-virus",
			msg: handMessage{headers: provHeaders("AVVISO DI NON ACCETTAZIONE PER VIRUS: Richiesta certificati", "X-Ricevuta: non-accettazione-virus\r\nX-VerificaSicurezza: errore\r\n"),
				dati: datiXML{tipo: "non-accettazione", errore: "virus"}.String()},
			kind: pec.KindNonAccettazione, sig: pec.SignatureValid, problem: pec.ProblemSecurityWarning, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if !m.SecurityWarning || m.Error != pec.ErrorVirus {
					t.Errorf("security warning %v, error %q", m.SecurityWarning, m.Error)
				}
			}},
		{name: "unknown X-Ricevuta, daticert tipo decides",
			msg:  handMessage{headers: provHeaders("Richiesta certificati", "X-Ricevuta: ricevuta-strana\r\n"), dati: datiXML{tipo: "accettazione"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemUnknownKind,
			check: func(t *testing.T, m *pec.Message) {
				if strings.Contains(problemText(m), "headers are missing") || strings.Contains(problemText(m), "has no X-Ricevuta") {
					t.Errorf("says the headers are missing: %v", m.Problems)
				}
			}},
		{name: "unknown X-Ricevuta, X-Trasporto honoured",
			msg: handMessage{headers: provHeaders("POSTA CERTIFICATA: Richiesta certificati", "X-Ricevuta: boh\r\nX-Trasporto: posta-certificata\r\n"),
				dati: datiXML{tipo: "posta-certificata"}.String(), post: plainOriginal},
			kind: pec.KindPostaCertificata, problem: pec.ProblemUnknownKind, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if m.Original == nil || m.Original.MessageID != "<orig-1@pec.comune.example>" {
					t.Errorf("original %+v", m.Original)
				}
			}},
		{name: "unknown X-Ricevuta, daticert unreadable, subject prefix",
			msg: handMessage{headers: provHeaders("AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: Richiesta certificati", "X-Ricevuta: mancata-consegna-12h\r\n"),
				dati: "<postacert><oops"},
			kind: pec.KindPreavvisoErroreConsegna, problem: pec.ProblemDaticert},
		{name: "signed with daticert of unknown tipo, no headers, subject prefix",
			msg:  handMessage{headers: provHeaders("CONSEGNA: Richiesta certificati", ""), dati: datiXML{tipo: "consegnato"}.String()},
			kind: pec.KindAvvenutaConsegna, problem: pec.ProblemUnknownKind},
		{name: "signed with daticert of unknown tipo, nothing else",
			msg:  handMessage{headers: provHeaders("Richiesta certificati", ""), dati: datiXML{tipo: "consegnato"}.String()},
			kind: pec.KindUnknownPEC, problem: pec.ProblemUnknownKind,
			check: func(t *testing.T, m *pec.Message) {
				if !m.Kind.IsPEC() || m.Format != "pec" {
					t.Errorf("kind %q format %q", m.Kind, m.Format)
				}
			}},
		{name: "daticert tipo spelled the non-standard way",
			msg:  handMessage{headers: provHeaders("AVVISO DI MANCATA CONSEGNA: Richiesta certificati", "X-Ricevuta: errore-consegna\r\n"), dati: datiXML{tipo: "mancata-consegna"}.String()},
			kind: pec.KindErroreConsegna, problem: pec.ProblemDaticert, absent: pec.ProblemConflict},
		{name: "X-Ricevuta and X-Trasporto both",
			msg:  handMessage{headers: provHeaders("ACCETTAZIONE: Richiesta certificati", "X-Ricevuta: accettazione\r\nX-Trasporto: posta-certificata\r\n"), dati: datiXML{tipo: "accettazione"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemConflict},
		{name: "daticert without any PEC header",
			msg:  handMessage{headers: provHeaders("Richiesta certificati", ""), dati: datiXML{tipo: "accettazione"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if !strings.Contains(problemText(m), "has no X-Ricevuta or X-Trasporto header") {
					t.Errorf("problems: %v", m.Problems)
				}
			}},
		{name: "ordinary mail with a provider-like subject stays ordinary",
			msg:  handMessage{headers: provHeaders("ACCETTAZIONE: Richiesta certificati", ""), sig: "none"},
			kind: pec.KindNonPEC},
		{name: "a personal value in X-Ricevuta is not repeated",
			msg:  handMessage{headers: provHeaders("ACCETTAZIONE: x", "X-Ricevuta: ROSSI MARIO RSSMRA80A01H501U\r\n"), dati: datiXML{tipo: "accettazione"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemUnknownKind, notIn: "ROSSI"},
	})
}

// TestDaticertLenient: daticert.xml with characters XML forbids is read, with a
// problem; the DTD's defaults apply; errore is checked.
func TestDaticertLenient(t *testing.T) {
	hdr := provHeaders("ACCETTAZIONE: Richiesta certificati", "X-Ricevuta: accettazione\r\n")
	runScenarios(t, []scenario{
		{name: "character reference &#18; (Cedacri)",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", oggetto: "Richiesta&#18; certificati"}.String()},
			kind: pec.KindAccettazione, sig: pec.SignatureValid, problem: pec.ProblemDaticert, absent: pec.ProblemConflict,
			check: func(t *testing.T, m *pec.Message) {
				if m.PECID != "opec-hand-1@pec.prova.example" || m.Subject != "Richiesta certificati" || m.Time.IsZero() || len(m.Recipients) != 1 {
					t.Errorf("daticert lost: id %q subject %q time %v recipients %v", m.PECID, m.Subject, m.Time, m.Recipients)
				}
				if !strings.Contains(problemText(m), "characters that XML does not allow") {
					t.Errorf("problems: %v", m.Problems)
				}
			}},
		{name: "raw 0x16 in the subject (Register.it)",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", oggetto: "Richiesta\x16 certificati"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemDaticert, absent: pec.ProblemNoDaticert,
			check: func(t *testing.T, m *pec.Message) {
				if m.Daticert == nil || m.RefMessageID != "<orig-1@pec.comune.example>" {
					t.Errorf("daticert %v ref %q", m.Daticert, m.RefMessageID)
				}
			}},
		{name: "DTD defaults: no errore, no destinatari tipo",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", noErrore: true, destTipo: "-"}.String()},
			kind: pec.KindAccettazione, absent: pec.ProblemDaticert,
			check: func(t *testing.T, m *pec.Message) {
				if m.Error != pec.ErrorNone || len(m.Recipients) != 1 || m.Recipients[0].Type != pec.RecipientCertificato {
					t.Errorf("error %q recipients %v", m.Error, m.Recipients)
				}
			}},
		{name: "errore outside its set",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", errore: "boh"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemDaticert,
			check: func(t *testing.T, m *pec.Message) {
				if m.Error != "boh" || !strings.Contains(problemText(m), "unknown errore value") {
					t.Errorf("error %q problems %v", m.Error, m.Problems)
				}
			}},
		{name: "msgid is optional",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", msgid: "-"}.String()},
			kind: pec.KindAccettazione, absent: pec.ProblemDaticert,
			check: func(t *testing.T, m *pec.Message) {
				if m.RefMessageID != "<orig-1@pec.comune.example>" {
					t.Errorf("ref %q", m.RefMessageID)
				}
			}},
		{name: "latin-1 bytes without a declaration",
			msg:  handMessage{headers: hdr, dati: datiXML{tipo: "accettazione", decl: "<?xml version=\"1.0\"?>", oggetto: "Citt\xe0"}.String()},
			kind: pec.KindAccettazione, problem: pec.ProblemDaticert,
			check: func(t *testing.T, m *pec.Message) {
				if m.Subject != "Città" {
					t.Errorf("subject %q", m.Subject)
				}
			}},
	})
}

// TestSubjectComparison: a Subject header transcoded by a provider or prefixed
// by a list is not a conflict; a different text is.
func TestSubjectComparison(t *testing.T) {
	dati := func(oggetto string) string { return datiXML{tipo: "posta-certificata", oggetto: oggetto}.String() }
	env := func(subject string) string {
		return provHeaders(subject, "X-Trasporto: posta-certificata\r\n")
	}
	tests := []struct {
		name, subject, oggetto string
		conflict               bool
	}{
		{"same", "POSTA CERTIFICATA: Richiesta città", "Richiesta città", false},
		{"transcoded to ISO-8859-1", "POSTA CERTIFICATA: =?iso-8859-1?Q?Richiesta_citt=E0?=", "Richiesta città", false},
		{"euro sign lost in ISO-8859-1", "POSTA CERTIFICATA: =?iso-8859-1?Q?Spese_=3F_10?=", "Spese € 10", false},
		{"one ? per UTF-8 byte", "POSTA CERTIFICATA: Richiesta citt??", "Richiesta città", false},
		{"decomposed accents (NFD)", "POSTA CERTIFICATA: Richiesta citta\u0300", "Richiesta città", false},
		{"folded white space", "POSTA CERTIFICATA: Richiesta\t  città", "Richiesta città", false},
		{"list prefix", "[protocollo] POSTA CERTIFICATA: Richiesta città", "Richiesta città", false},
		{"reply and forward prefixes", "R: I: POSTA CERTIFICATA: Richiesta città", "Richiesta città", false},
		{"different text", "POSTA CERTIFICATA: Richiesta altra", "Richiesta città", true},
		{"? does not stand for ASCII", "POSTA CERTIFICATA: Richiesta citt?", "Richiesta citta", true},
	}
	var sc []scenario
	for _, tc := range tests {
		s := scenario{name: tc.name, msg: handMessage{headers: env(tc.subject), dati: dati(tc.oggetto), post: plainOriginal},
			kind: pec.KindPostaCertificata, notIn: "città"}
		if tc.conflict {
			s.problem = pec.ProblemConflict
		} else {
			s.absent = pec.ProblemConflict
		}
		sc = append(sc, s)
	}
	runScenarios(t, sc)
}

// TestREMHeaders: X-REM-* fields are kept, X-REM-Subject decoded.
func TestREMHeaders(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "Aruba 2026 receipt",
			msg: handMessage{headers: provHeaders("ACCETTAZIONE: Richiesta", "X-Ricevuta: accettazione\r\nX-REM-Subject: =?utf-8?Q?Richiesta_citt=C3=A0?=\r\nx-rem-evidence: SubmissionAcceptance\r\n"),
				dati: datiXML{tipo: "accettazione", oggetto: "Richiesta"}.String()},
			kind: pec.KindAccettazione,
			check: func(t *testing.T, m *pec.Message) {
				if m.REM.Subject != "Richiesta città" || len(m.REM.Fields) != 2 {
					t.Errorf("rem = %+v", m.REM)
				}
				v := m.View()
				if v.REM.Subject != "Richiesta città" || len(v.REM.Headers) != 2 || v.REM.Headers[1].Name != "x-rem-evidence" {
					t.Errorf("view rem = %+v", v.REM)
				}
			}},
		{name: "no REM fields",
			msg:  handMessage{headers: provHeaders("ACCETTAZIONE: Richiesta", "X-Ricevuta: accettazione\r\n"), dati: datiXML{tipo: "accettazione", oggetto: "Richiesta"}.String()},
			kind: pec.KindAccettazione,
			check: func(t *testing.T, m *pec.Message) {
				if v := m.View(); v.REM.Headers == nil || len(v.REM.Headers) != 0 || m.REM.Subject != "" {
					t.Errorf("rem = %+v", v.REM)
				}
			}},
	})
}

// rewrap puts inner, as a message/rfc822 part, in an unsigned list message.
func rewrap(inner []byte, outerHeaders string) []byte {
	var b bytes.Buffer
	b.WriteString(outerHeaders)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"list\"\r\n\r\n--list\r\nContent-Type: text/plain\r\n\r\nMessaggio inoltrato dalla lista.\r\n")
	b.WriteString("--list\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n")
	b.Write(inner)
	b.WriteString("\r\n--list--\r\n")
	return b.Bytes()
}

// TestRewrapped: a provider's envelope re-sent by a list manager is read as
// the signed PEC message inside, and says so.
func TestRewrapped(t *testing.T) {
	p := getPKI(t)
	original, origID := composeOriginal(t, p, nil)
	envelope, envID := writeKind(t, p, pec.KindPostaCertificata, original, "")
	receipt, _ := writeKind(t, p, pec.KindAccettazione, original, "")
	list := "From: lista@lista.example\r\nTo: protocollo@pec.comune.example\r\nSubject: [lista] POSTA CERTIFICATA: x\r\nMessage-ID: <list-1@lista.example>\r\n"
	// a list that also signs its messages (S/MIME), with another certificate
	signedList := func(inner []byte) []byte {
		body := "Content-Type: multipart/mixed; boundary=\"list\"\r\n\r\n--list\r\nContent-Type: message/rfc822\r\n\r\n" + string(inner) + "\r\n--list--\r\n"
		der, err := p.user.SignDetached([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(list + "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"ls\"\r\n\r\n--ls\r\n" + body +
			"\r\n--ls\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrap76(base64.StdEncoding.EncodeToString(der)) + "\r\n--ls--\r\n")
	}
	tests := []struct {
		name     string
		raw      []byte
		kind     pec.Kind
		sig      pec.SignatureStatus
		outer    pec.SignatureStatus
		rewraped bool
	}{
		{"envelope re-sent by a list", rewrap(envelope, list), pec.KindPostaCertificata, pec.SignatureValid, pec.SignatureAbsent, true},
		{"receipt forwarded as an attachment", rewrap(receipt, list), pec.KindAccettazione, pec.SignatureValid, pec.SignatureAbsent, true},
		{"list that signs its own messages", signedList(envelope), pec.KindPostaCertificata, pec.SignatureValid, pec.SignatureValid, true},
		{"nested message spoiled", rewrap(bytes.Replace(envelope, []byte("Si trasmette"), []byte("Si trasmeTTe"), 1), list), pec.KindPostaCertificata, pec.SignatureInvalid, pec.SignatureAbsent, true},
		{"an envelope is not re-wrapped by its own postacert.eml", envelope, pec.KindPostaCertificata, pec.SignatureValid, "", false},
		{"ordinary mail with an ordinary message attached", rewrap([]byte(plainOriginal), list), pec.KindNonPEC, pec.SignatureAbsent, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := pec.Parse(tc.raw, pec.ReadOptions{TrustStore: p.ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind || m.Signature.Status != tc.sig {
				t.Fatalf("kind %q signature %q (%s), want %q %q", m.Kind, m.Signature.Status, m.Signature.Reason, tc.kind, tc.sig)
			}
			if (m.Rewrapped != nil) != tc.rewraped || m.HasProblem(pec.ProblemRewrapped) != tc.rewraped {
				t.Fatalf("rewrapped %v, problems %v", m.Rewrapped, m.Problems)
			}
			v := m.View()
			if v.Rewrapped != tc.rewraped {
				t.Errorf("view rewrapped %v", v.Rewrapped)
			}
			if !tc.rewraped {
				return
			}
			if m.Rewrapped.MessageID != "<list-1@lista.example>" || m.Rewrapped.From != "lista@lista.example" || m.Rewrapped.Signature.Status != tc.outer {
				t.Errorf("wrapper %+v", m.Rewrapped)
			}
			if v.Wrapper.Signature.Status != tc.outer || v.Wrapper.MessageID != "<list-1@lista.example>" {
				t.Errorf("view wrapper %+v", v.Wrapper)
			}
			if tc.kind == pec.KindPostaCertificata && (m.MessageID != envID || m.RefMessageID != origID || m.Original == nil) {
				t.Errorf("ids %q %q original %v", m.MessageID, m.RefMessageID, m.Original != nil)
			}
			if !bytes.Equal(m.Raw(), tc.raw) {
				t.Error("Raw is not the message as received")
			}
		})
	}
}
