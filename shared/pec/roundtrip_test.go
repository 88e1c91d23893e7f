package pec_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
)

type testPKI struct {
	ca       *pki.CA
	provider *pec.Signer
	user     *pec.Signer
}

var testKeys = sync.OnceValues(func() (*testPKI, error) {
	ca, err := pki.New("CA PEC di prova", false)
	if err != nil {
		return nil, err
	}
	prov, err := ca.Signer("Gestore PEC di prova S.p.A.", "posta-certificata@pec.prova.example")
	if err != nil {
		return nil, err
	}
	user, err := ca.Signer("Ufficio di prova", "protocollo@pec.comune.example")
	if err != nil {
		return nil, err
	}
	return &testPKI{ca, prov, user}, nil
})

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	p, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var pdf = []byte("%PDF-1.4\n% richiesta di prova\n%%EOF\n")

// composeOriginal writes a request like the sending pipeline's: letter PDF
// (signed .p7m), subjects file, segnatura.xml.
func composeOriginal(t testing.TB, p *testPKI, extra []byte) ([]byte, string) {
	t.Helper()
	s := &segnatura.Segnatura{}
	s.Intestazione.Identificatore = segnatura.Identificatore{
		CodiceAmministrazione: "c_g999", CodiceAOO: "AOO1", CodiceRegistro: "PG", NumeroRegistrazione: "0001234",
	}
	s.SetDate(time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC))
	s.Intestazione.Oggetto = "Richiesta certificati del casellario"
	s.Descrizione.Mittente = segnatura.Ente{Denominazione: "Comune di Prato", CodiceAmministrazione: "c_g999", IndirizzoTelematico: "protocollo@pec.comune.example"}
	s.Descrizione.Destinatario = []segnatura.Ente{{Denominazione: "Procura della Repubblica", IndirizzoTelematico: "procura@pec.giustizia.example"}}
	atts := []compose.Attachment{
		{Name: "richiesta.pdf", ContentType: "application/pdf", Data: pdf, Sign: true, Primary: true},
		{Name: "soggetti.txt", ContentType: "text/plain", Data: []byte("ROSSI;MARIO;H501;01/01/1970;M\n")},
	}
	if extra != nil {
		atts = append(atts, compose.Attachment{Name: "grande.bin", Data: extra})
	}
	var b bytes.Buffer
	id, err := compose.Write(&b, compose.Mail{
		From: "Comune di Prato <protocollo@pec.comune.example>", To: []string{"procura@pec.giustizia.example"},
		Subject: "Richiesta certificati – prot. 0001234", Text: "Si trasmette la richiesta.\nCordiali saluti.",
		Attachments: atts, Segnatura: s, Signer: p.user,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), id
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func writeKind(t testing.TB, p *testPKI, k pec.Kind, original []byte, rt pec.ReceiptType) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	var id string
	var err error
	when := time.Date(2025, 3, 4, 10, 11, 12, 0, time.FixedZone("", 3600))
	if k.IsEnvelope() {
		id, err = pec.WriteEnvelope(&b, original, pec.EnvelopeSpec{
			Kind: k, Identificativo: "opec-test-1@pec.prova.example", Issuer: "Gestore PEC di prova S.p.A.", Time: when,
		}, p.provider)
	} else {
		spec := pec.ReceiptSpec{
			Kind: k, Type: rt, Identificativo: "opec-test-1@pec.prova.example", Domain: "pec.prova.example",
			Issuer: "Gestore PEC di prova S.p.A.", Original: original, Time: when,
		}
		switch k {
		case pec.KindAvvenutaConsegna:
			spec.Delivery = "procura@pec.giustizia.example"
		case pec.KindErroreConsegna, pec.KindNonAccettazione:
			spec.Error, spec.ErrorDetail = pec.ErrorNoDest, "5.1.1 indirizzo non valido"
		case pec.KindRilevazioneVirus:
			spec.Error = pec.ErrorVirus
		}
		id, err = pec.WriteReceipt(&b, spec, p.provider)
	}
	if err != nil {
		t.Fatalf("write %s: %v", k, err)
	}
	return b.Bytes(), id
}

func TestRoundTripEveryKind(t *testing.T) {
	p := getPKI(t)
	original, origID := composeOriginal(t, p, nil)
	tests := []struct {
		kind     pec.Kind
		rt       pec.ReceiptType
		original bool // postacert.eml expected
		err      string
	}{
		{pec.KindAccettazione, "", false, pec.ErrorNone},
		{pec.KindNonAccettazione, "", false, pec.ErrorNoDest},
		{pec.KindPresaInCarico, "", false, pec.ErrorNone},
		{pec.KindAvvenutaConsegna, pec.ReceiptCompleta, true, pec.ErrorNone},
		{pec.KindAvvenutaConsegna, pec.ReceiptBreve, true, pec.ErrorNone},
		{pec.KindAvvenutaConsegna, pec.ReceiptSintetica, false, pec.ErrorNone},
		{pec.KindErroreConsegna, "", false, pec.ErrorNoDest},
		{pec.KindPreavvisoErroreConsegna, "", false, pec.ErrorNone},
		{pec.KindRilevazioneVirus, "", false, pec.ErrorVirus},
		{pec.KindPostaCertificata, pec.ReceiptCompleta, true, pec.ErrorNone},
		{pec.KindAnomalia, pec.ReceiptCompleta, true, ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind)+"/"+string(tc.rt), func(t *testing.T) {
			raw, id := writeKind(t, p, tc.kind, original, tc.rt)
			m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: p.ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", m.Kind, tc.kind)
			}
			if m.MessageID != id {
				t.Errorf("message id = %q, want %q", m.MessageID, id)
			}
			if m.RefMessageID != origID {
				t.Errorf("ref = %q, want %q", m.RefMessageID, origID)
			}
			if m.Signature.Status != pec.SignatureValid {
				t.Errorf("signature = %q (%s), want valid", m.Signature.Status, m.Signature.Reason)
			}
			if !strings.Contains(m.Signature.Signer, "Gestore PEC di prova") {
				t.Errorf("signer = %q", m.Signature.Signer)
			}
			if m.Error != tc.err {
				t.Errorf("error = %q, want %q", m.Error, tc.err)
			}
			if tc.kind != pec.KindAnomalia {
				if m.PECID != "opec-test-1@pec.prova.example" || m.Issuer != "Gestore PEC di prova S.p.A." {
					t.Errorf("pec id %q issuer %q", m.PECID, m.Issuer)
				}
				if m.Subject != "Richiesta certificati – prot. 0001234" {
					t.Errorf("subject = %q", m.Subject)
				}
				if m.Sender != "protocollo@pec.comune.example" || len(m.Recipients) != 1 || m.Recipients[0].Type != pec.RecipientCertificato {
					t.Errorf("sender %q recipients %v", m.Sender, m.Recipients)
				}
				if !m.Time.Equal(time.Date(2025, 3, 4, 9, 11, 12, 0, time.UTC)) {
					t.Errorf("time = %v", m.Time)
				}
				if _, off := m.Time.Zone(); off != 3600 {
					t.Errorf("zone offset = %d", off)
				}
			}
			if m.ReceiptType != tc.rt {
				t.Errorf("receipt type = %q, want %q", m.ReceiptType, tc.rt)
			}
			if (m.Original != nil) != tc.original {
				t.Fatalf("original present = %v, want %v", m.Original != nil, tc.original)
			}
			wantProblems := 0
			if tc.err == pec.ErrorVirus {
				wantProblems = 1
				if !m.SecurityWarning || !m.HasProblem(pec.ProblemSecurityWarning) {
					t.Errorf("virus notice without security warning")
				}
			}
			if len(m.Problems) != wantProblems {
				t.Errorf("problems: %v", m.Problems)
			}
			if m.Original == nil {
				return
			}
			if m.Original.MessageID != origID {
				t.Errorf("original id = %q", m.Original.MessageID)
			}
			names := map[string]pec.Attachment{}
			for _, a := range m.Attachments() {
				names[a.Name] = a
			}
			if tc.rt == pec.ReceiptBreve {
				if _, ok := names["richiesta.pdf.p7m.hash"]; !ok {
					t.Errorf("breve: hash of the .p7m missing: %v", names)
				}
				return
			}
			for _, n := range []string{"segnatura.xml", "richiesta.pdf.p7m", "richiesta.pdf", "soggetti.txt"} {
				if _, ok := names[n]; !ok {
					t.Errorf("attachment %s missing (have %v)", n, names)
				}
			}
			inner := names["richiesta.pdf"]
			if inner.SHA256 != sha(pdf) || inner.Size != int64(len(pdf)) || inner.Container != "richiesta.pdf.p7m" || inner.ContentType != "application/pdf" {
				t.Errorf("unwrapped pdf = %+v", inner)
			}
			if inner.Signature == nil || inner.Signature.Status != pec.SignatureValid {
				t.Errorf("CAdES signature = %+v", inner.Signature)
			}
			r, err := inner.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, pdf) {
				t.Errorf("Open returned %q", got)
			}
		})
	}
}

func TestSignatureStatuses(t *testing.T) {
	p := getPKI(t)
	original, _ := composeOriginal(t, p, nil)
	raw, _ := writeKind(t, p, pec.KindAvvenutaConsegna, original, pec.ReceiptCompleta)
	other, err := pki.New("Altra CA", false)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(raw)
	i := bytes.Index(flipped, []byte("Si trasmette"))
	flipped[i] = 's'
	lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	sigStart := bytes.Index(raw, []byte("filename=\"smime.p7s\"\r\n\r\n")) + 24
	cut := bytes.Clone(raw)
	copy(cut[sigStart+40:], bytes.Repeat([]byte("A"), 60))
	tests := []struct {
		name string
		raw  []byte
		opts pec.ReadOptions
		want pec.SignatureStatus
	}{
		{"trusted", raw, pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureValid},
		{"bare LF line ends", lf, pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureValid},
		{"no trust store", raw, pec.ReadOptions{}, pec.SignatureUntrusted},
		{"other CA", raw, pec.ReadOptions{TrustStore: other.Pool()}, pec.SignatureUntrusted},
		{"content flipped", flipped, pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureInvalid},
		{"signature corrupted", cut, pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureInvalid},
		{"signature removed", raw[:sigStart-120], pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureAbsent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := pec.Parse(tc.raw, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Signature.Status != tc.want {
				t.Errorf("status = %q (%s), want %q", m.Signature.Status, m.Signature.Reason, tc.want)
			}
			if m.Kind != pec.KindAvvenutaConsegna {
				t.Errorf("kind = %q", m.Kind)
			}
		})
	}
}

func TestSignerExpiredAtSigningTime(t *testing.T) {
	p := getPKI(t)
	old, err := p.ca.SignerValidity("Gestore scaduto", "x@pec.example", time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	original, _ := composeOriginal(t, p, nil)
	var b bytes.Buffer
	if _, err := pec.WriteReceipt(&b, pec.ReceiptSpec{Kind: pec.KindAccettazione, Original: original}, old); err != nil {
		t.Fatal(err)
	}
	m, err := pec.Parse(b.Bytes(), pec.ReadOptions{TrustStore: p.ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	if m.Signature.Status == pec.SignatureValid {
		t.Fatalf("expired signer reported valid")
	}
}
