package pec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const daticertOK = `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="accettazione" errore="nessuno">
<intestazione><mittente>a@pec.example</mittente><destinatari tipo="certificato">b@pec.example</destinatari>
<destinatari tipo="esterno">c@mail.example</destinatari><risposte>a@pec.example</risposte><oggetto>Prova</oggetto></intestazione>
<dati><gestore-emittente>Gestore</gestore-emittente><data zona="+0200"><giorno>01/06/2025</giorno><ora>09:08:07</ora></data>
<identificativo>id-1@pec.example</identificativo><msgid>&lt;orig-1@comune.example&gt;</msgid></dati></postacert>`

// receipt builds an unsigned receipt with the given extra headers and daticert.
func receipt(headers, dati string) []byte {
	var b strings.Builder
	b.WriteString("From: posta-certificata@pec.example\r\nTo: a@pec.example\r\nSubject: ACCETTAZIONE: Prova\r\n")
	b.WriteString("Message-ID: <r-1@pec.example>\r\n" + headers)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nRicevuta\r\n")
	if dati != "" {
		b.WriteString("--XX\r\nContent-Type: application/xml; name=\"daticert.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(dati + "\r\n")
	}
	b.WriteString("--XX--\r\n")
	return []byte(b.String())
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestReadBadInput(t *testing.T) {
	var nb strings.Builder
	for i := range 200 {
		fmt.Fprintf(&nb, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	nested := nb.String()
	tests := []struct {
		name    string
		raw     []byte
		opts    ReadOptions
		err     error
		kind    Kind
		problem ProblemCode
	}{
		{name: "empty", raw: nil, err: ErrNotMessage},
		{name: "binary", raw: []byte{0x30, 0x82, 0x01, 0x00, 0xff, 0xfe}, err: ErrNotMessage},
		{name: "json", raw: []byte(`{"kind":"accettazione"}`), err: ErrNotMessage},
		{name: "too large", raw: receipt("X-Ricevuta: accettazione\r\n", b64(daticertOK)), opts: ReadOptions{MaxSize: 100}, err: ErrTooLarge},
		{name: "ok", raw: receipt("X-Ricevuta: accettazione\r\n", b64(daticertOK)), kind: KindAccettazione, problem: ProblemSignature},
		{name: "no daticert", raw: receipt("X-Ricevuta: accettazione\r\n", ""), kind: KindAccettazione, problem: ProblemNoDaticert},
		{name: "daticert invalid base64", raw: receipt("X-Ricevuta: accettazione\r\n", "PD94b!!!"), kind: KindAccettazione, problem: ProblemEncoding},
		{name: "daticert not xml", raw: receipt("X-Ricevuta: accettazione\r\n", b64("<postacert><oops")), kind: KindAccettazione, problem: ProblemDaticert},
		{name: "daticert contradicts X-Ricevuta", raw: receipt("X-Ricevuta: avvenuta-consegna\r\n", b64(daticertOK)), kind: KindAccettazione, problem: ProblemConflict},
		{name: "daticert contradicts reference", raw: receipt("X-Ricevuta: accettazione\r\nX-Riferimento-Message-ID: <other@x>\r\n", b64(daticertOK)), kind: KindAccettazione, problem: ProblemConflict},
		{name: "daticert without headers", raw: receipt("", b64(daticertOK)), kind: KindAccettazione, problem: ProblemConflict},
		{name: "unknown X-Ricevuta, subject prefix", raw: receipt("X-Ricevuta: boh\r\n", ""), kind: KindAccettazione, problem: ProblemUnknownKind},
		{name: "unknown X-Trasporto, subject prefix", raw: receipt("X-Trasporto: boh\r\n", ""), kind: KindAccettazione, problem: ProblemUnknownKind},
		{name: "unknown X-Ricevuta, no other hint", raw: bytes.Replace(receipt("X-Ricevuta: boh\r\n", ""), []byte("ACCETTAZIONE: "), nil, 1), kind: KindNonPEC, problem: ProblemUnknownKind},
		{name: "envelope without original", raw: receipt("X-Trasporto: posta-certificata\r\n", ""), kind: KindPostaCertificata, problem: ProblemNoOriginal},
		{name: "anomalia", raw: receipt("X-Trasporto: errore\r\n", ""), kind: KindAnomalia, problem: ProblemNoOriginal},
		{name: "truncated multipart", raw: []byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\nhalf"), kind: KindNonPEC, problem: ProblemTruncated},
		{name: "header without end", raw: []byte("From: a@b.example\r\nSubject: x"), kind: KindNonPEC, problem: ProblemTruncated},
		{name: "multipart without boundary", raw: []byte("From: a@b.example\r\nContent-Type: multipart/mixed\r\n\r\nx"), kind: KindNonPEC, problem: ProblemMIME},
		{name: "bad content type", raw: []byte("From: a@b.example\r\nContent-Type: ;;;\r\n\r\nx"), kind: KindNonPEC, problem: ProblemMIME},
		{name: "absurd nesting", raw: []byte("From: a@b.example\r\n" + nested), kind: KindNonPEC, problem: ProblemLimit},
		{name: "too many parts", raw: []byte("From: a@b.example\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n" + strings.Repeat("--p\r\n\r\nx\r\n", 50) + "--p--\r\n"), opts: ReadOptions{MaxParts: 10}, kind: KindNonPEC, problem: ProblemLimit},
		{name: "huge header", raw: []byte("From: a@b.example\r\nX-Big: " + strings.Repeat("a", 300<<10) + "\r\n\r\nbody"), kind: KindNonPEC, problem: ProblemHeader},
		{name: "too many header fields", raw: []byte("From: a@b.example\r\n" + strings.Repeat("X-A: 1\r\n", 2000) + "\r\nbody"), kind: KindNonPEC, problem: ProblemHeader},
		{name: "malformed header line", raw: []byte("From: a@b.example\r\nthis is not a header\r\n\r\nbody"), kind: KindNonPEC, problem: ProblemHeader},
		{name: "attachment invalid base64", raw: []byte("From: a@b.example\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n"), kind: KindNonPEC, problem: ProblemEncoding},
		{name: "p7m not a signature", raw: []byte("From: a@b.example\r\nContent-Type: application/octet-stream; name=\"a.pdf.p7m\"\r\n\r\nhello\r\n"), kind: KindNonPEC, problem: ProblemAttachment},
		{name: "signed without signature part", raw: []byte("From: a@b.example\r\nX-Ricevuta: accettazione\r\nContent-Type: multipart/signed; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s--\r\n"), kind: KindAccettazione, problem: ProblemSignature},
		{name: "security warning", raw: receipt("X-Ricevuta: accettazione\r\nX-VerificaSicurezza: errore\r\n", b64(daticertOK)), kind: KindAccettazione, problem: ProblemSecurityWarning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(tc.raw, tc.opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", m.Kind, tc.kind)
			}
			if tc.problem != "" && !m.HasProblem(tc.problem) {
				t.Errorf("problem %q not reported: %v", tc.problem, m.Problems)
			}
			_ = m.View()
		})
	}
}

func TestReadFields(t *testing.T) {
	raw := receipt("X-Ricevuta: accettazione\r\nX-Riferimento-Message-ID: <orig-1@comune.example>\r\n", b64(daticertOK))
	m, err := Read(bytes.NewReader(raw), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{{"b@pec.example", RecipientCertificato}, {"c@mail.example", RecipientEsterno}}
	if len(m.Recipients) != 2 || m.Recipients[0] != want[0] || m.Recipients[1] != want[1] {
		t.Errorf("recipients = %v", m.Recipients)
	}
	if m.RefMessageID != "<orig-1@comune.example>" || m.MessageID != "<r-1@pec.example>" || m.PECID != "id-1@pec.example" {
		t.Errorf("ids: %q %q %q", m.RefMessageID, m.MessageID, m.PECID)
	}
	if m.Time.Format(time.RFC3339) != "2025-06-01T09:08:07+02:00" {
		t.Errorf("time = %s", m.Time.Format(time.RFC3339))
	}
	if m.Subject != "Prova" || m.Issuer != "Gestore" || m.Sender != "a@pec.example" || m.ReplyTo != "a@pec.example" {
		t.Errorf("fields: %+v", m)
	}
	if m.HasProblem(ProblemConflict) {
		t.Errorf("unexpected conflict: %v", m.Problems)
	}
	if m.Signature.Status != SignatureAbsent {
		t.Errorf("signature = %q", m.Signature.Status)
	}
}

func TestReadCharsetsAndHeaders(t *testing.T) {
	tests := []struct {
		name, raw, subject, text string
	}{
		{"rfc2047 iso-8859-1", "Subject: =?iso-8859-1?Q?Citt=E0_di_Prato?=\r\nFrom: a@b.example\r\n\r\nx\r\n", "Città di Prato", "x\r\n"},
		{"rfc2047 utf-8 base64", "Subject: =?utf-8?B?Q2l0dMOgIGRpIFByYXRv?=\r\nFrom: a@b.example\r\n\r\n", "Città di Prato", ""},
		{"raw latin-1 header", "Subject: Citt\xe0\r\nFrom: a@b.example\r\n\r\n", "Città", ""},
		{"windows-1252 body", "From: a@b.example\r\nsubject: x\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=80 =E8 ok\r\n", "x", "€ è ok\r\n"},
		{"iso-8859-1 body", "From: a@b.example\r\nSUBJECT: x\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n\r\n\xe8\r\n", "x", "è\r\n"},
		{"folded header", "From: a@b.example\r\nSubject: one\r\n two\r\n\r\n", "one two", ""},
		{"LF only", "From: a@b.example\nSubject: lf\n\nbody\n", "lf", "body\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.raw), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.subject {
				t.Errorf("subject = %q, want %q", m.Subject, tc.subject)
			}
			txt, err := m.Original.Text()
			if err != nil {
				t.Fatal(err)
			}
			if txt != tc.text {
				t.Errorf("text = %q, want %q", txt, tc.text)
			}
		})
	}
}

func TestStripSubjectPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"ACCETTAZIONE: a":                         "a",
		"POSTA CERTIFICATA: POSTA CERTIFICATA: a": "POSTA CERTIFICATA: a",
		"AVVISO DI MANCATA CONSEGNA PER VIRUS: a": "a",
		"Consegna: a":                             "a",
		"Richiesta":                               "Richiesta",
	} {
		if got := StripSubjectPrefix(in); got != want {
			t.Errorf("StripSubjectPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDaticertErrors(t *testing.T) {
	tests := []struct {
		name string
		xml  string
		err  bool
		warn string
	}{
		{"ok", daticertOK, false, ""},
		{"too large", strings.Repeat(" ", MaxDaticertSize+1), true, ""},
		{"not xml", "hello", true, ""},
		{"wrong root", "<other/>", true, ""},
		{"bad zone", strings.Replace(daticertOK, "+0200", "CEST", 1), false, "unreadable data"},
		{"bad day", strings.Replace(daticertOK, "01/06/2025", "2025-06-01", 1), false, "unreadable data"},
		{"unknown tipo", strings.Replace(daticertOK, `tipo="accettazione"`, `tipo="boh"`, 1), false, "unknown or missing tipo"},
		{"no data", `<postacert tipo="accettazione"><dati><identificativo>x</identificativo><msgid>y</msgid></dati></postacert>`, false, "missing data"},
		{"bad ricevuta", strings.Replace(daticertOK, "</msgid>", `</msgid><ricevuta tipo="lunga"/>`, 1), false, "unknown ricevuta tipo"},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><postacert tipo="accettazione"><intestazione><oggetto>Citt` + "\xe0" + `</oggetto></intestazione></postacert>`, false, "missing identificativo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, warns, err := ParseDaticert([]byte(tc.xml))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				if !errors.Is(err, ErrDaticert) {
					t.Errorf("error does not wrap ErrDaticert")
				}
				return
			}
			if tc.warn == "" && len(warns) > 0 {
				t.Errorf("warnings %v", warns)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(warns, "|"), tc.warn) {
				t.Errorf("warnings %v, want %q", warns, tc.warn)
			}
			if tc.name == "latin-1" && d.Oggetto != "Città" {
				t.Errorf("oggetto = %q", d.Oggetto)
			}
		})
	}
}

func TestDaticertMarshalRoundTrip(t *testing.T) {
	d, _, err := ParseDaticert([]byte(daticertOK))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d2, warns, err := ParseDaticert(b)
	if err != nil || len(warns) > 0 {
		t.Fatalf("%v %v", err, warns)
	}
	if d2.MsgID != d.MsgID || !d2.Time.Equal(d.Time) || len(d2.Destinatari) != 2 || d2.Oggetto != d.Oggetto {
		t.Errorf("round trip: %+v", d2)
	}
}
