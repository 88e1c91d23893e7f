package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

func pecFixture(t *testing.T) (raw []byte, trustFile string) {
	t.Helper()
	ca, err := pki.New("CA di prova", false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ca.Signer("Gestore di prova", "posta-certificata@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_, err = pec.WriteReceipt(&b, pec.ReceiptSpec{
		Kind: pec.KindAccettazione, Identificativo: "id-1@pec.example", RefMessageID: "<orig-1@comune.example>",
		Sender: "comune@pec.example", Recipients: []pec.Recipient{{Address: "procura@pec.example", Type: pec.RecipientCertificato}},
		Subject: "Richiesta", Issuer: "Gestore di prova", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)),
	}, s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trustFile = filepath.Join(dir, "trust.pem")
	if err := os.WriteFile(trustFile, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), trustFile
}

func TestPecInspect(t *testing.T) {
	raw, trust := pecFixture(t)
	dir := t.TempDir()
	emlFile := filepath.Join(dir, "r.eml")
	if err := os.WriteFile(emlFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	badTrust := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badTrust, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		status string // signature status in JSON, "" when not JSON
		out    string // substring of stdout
		errOut string // substring of stderr
	}{
		{name: "json trusted", args: []string{"--json", "--trust", trust, emlFile}, code: 0, status: "valid"},
		{name: "json untrusted", args: []string{"--json", emlFile}, code: 0, status: "untrusted"},
		{name: "stdin", args: []string{"--json", "-"}, stdin: string(raw), code: 0, status: "untrusted"},
		{name: "text", args: []string{emlFile}, code: 0, out: "kind:           accettazione"},
		{name: "plain mail", args: []string{"--json", "-"}, stdin: "From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n", code: 0, status: "absent", out: `"kind": "non-pec"`},
		{name: "not a message", args: []string{"-"}, stdin: "%PDF-1.4 binary", code: 2, errOut: "not an e-mail message"},
		{name: "missing file", args: []string{filepath.Join(dir, "none.eml")}, code: 2, errOut: "no such file"},
		{name: "bad trust", args: []string{"--trust", badTrust, emlFile}, code: 2, errOut: "no PEM certificate"},
		{name: "missing trust file", args: []string{"--trust", filepath.Join(dir, "none.pem"), emlFile}, code: 2, errOut: "trust store"},
		{name: "no file", args: []string{}, code: 2, errOut: "exactly one"},
		{name: "two files", args: []string{emlFile, emlFile}, code: 2, errOut: "exactly one"},
		{name: "bad flag", args: []string{"--nope", emlFile}, code: 2, errOut: "flag provided but not defined"},
		{name: "help", args: []string{"-h"}, code: 0, errOut: "usage: casellario pec inspect"},
		{name: "missing key file", args: []string{"--key", filepath.Join(dir, "none.pem"), emlFile}, code: 2, errOut: "reading key"},
		{name: "bad key file", args: []string{"--key", badTrust, emlFile}, code: 2, errOut: "no PEM private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"pec", "inspect"}, tc.args...)
			code := run(context.Background(), env{strings.NewReader(tc.stdin), &stdout, &stderr}, args)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if tc.out != "" && !strings.Contains(stdout.String(), tc.out) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.out)
			}
			if tc.errOut != "" && !strings.Contains(stderr.String(), tc.errOut) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.errOut)
			}
			if tc.status == "" {
				return
			}
			var v map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			for _, k := range []string{"kind", "receipt_type", "message_id", "ref_message_id", "pec_id", "error", "error_detail",
				"sender", "recipients", "subject", "issuer", "timestamp", "signature", "original", "attachments", "problems",
				"format", "consegna", "ricezione", "security_warning", "dsn", "rewrapped", "wrapper", "rem"} {
				if _, ok := v[k]; !ok {
					t.Errorf("JSON lacks %q", k)
				}
			}
			if got := v["signature"].(map[string]any)["status"]; got != tc.status {
				t.Errorf("signature status = %v, want %s", got, tc.status)
			}
			for _, k := range []string{"recipients", "attachments", "problems", "ricezione"} {
				if v[k] == nil {
					t.Errorf("%s is null, want a list", k)
				}
			}
		})
	}
	// the contract's values for the receipt
	var stdout bytes.Buffer
	run(context.Background(), env{nil, &stdout, &bytes.Buffer{}}, []string{"pec", "inspect", "--json", "--trust", trust, emlFile})
	var v pec.View
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if v.Kind != pec.KindAccettazione || v.RefMessageID != "<orig-1@comune.example>" || v.PECID != "id-1@pec.example" ||
		v.Timestamp != "2025-01-02T03:04:05+01:00" || v.Subject != "Richiesta" || len(v.Recipients) != 1 ||
		v.Recipients[0].Type != "certificato" || !strings.Contains(stdout.String(), `"<orig-1@comune.example>"`) {
		t.Errorf("view = %+v", v)
	}
}

func TestPecUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"pec"}, 2},
		{[]string{"pec", "nope"}, 2},
		{[]string{"pec", "help"}, 0},
	}
	for _, tc := range tests {
		var stderr bytes.Buffer
		if code := run(context.Background(), env{nil, &bytes.Buffer{}, &stderr}, tc.args); code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(stderr.String(), "usage: casellario pec") {
			t.Errorf("%v: no usage in %q", tc.args, stderr.String())
		}
	}
}

// writeFixtures writes PEC messages of several kinds for the JSON contract.
func writeFixtures(t *testing.T) (dir, trust string) {
	t.Helper()
	ca, err := pki.New("CA di prova", false)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := ca.Signer("Gestore di prova", "posta-certificata@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	user, err := ca.Signer("Comune di prova", "comune@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	var orig bytes.Buffer
	if _, err := compose.Write(&orig, compose.Mail{
		From: "comune@pec.example", To: []string{"procura@pec.example"}, Subject: "Richiesta", Text: "Testo",
		Attachments: []compose.Attachment{{Name: "richiesta.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\n"), Sign: true}},
		Signer:      user,
	}); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	write := func(name string, spec pec.ReceiptSpec) {
		var b bytes.Buffer
		spec.Original, spec.Time = orig.Bytes(), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		if _, err := pec.WriteReceipt(&b, spec, prov); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("consegna.eml", pec.ReceiptSpec{Kind: pec.KindAvvenutaConsegna, Delivery: "procura@pec.example"})
	write("presa.eml", pec.ReceiptSpec{Kind: pec.KindPresaInCarico, Ricezione: []string{"procura@pec.example"}})
	write("virus.eml", pec.ReceiptSpec{Kind: pec.KindErroreConsegna, Error: pec.ErrorVirus, Delivery: "procura@pec.example"})
	receipt, err := os.ReadFile(filepath.Join(dir, "presa.eml"))
	if err != nil {
		t.Fatal(err)
	}
	list := "From: lista@lista.example\r\nSubject: [lista] x\r\nMessage-ID: <l-1@lista.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"l\"\r\n\r\n--l\r\nContent-Type: message/rfc822\r\n\r\n" + string(receipt) + "\r\n--l--\r\n"
	if err := os.WriteFile(filepath.Join(dir, "lista.eml"), []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := "From: mailer-daemon@mail.example\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\r\n\r\n" +
		"--d\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--d--\r\n"
	if err := os.WriteFile(filepath.Join(dir, "dsn.eml"), []byte(dsn), 0o600); err != nil {
		t.Fatal(err)
	}
	trust = filepath.Join(dir, "trust.pem")
	if err := os.WriteFile(trust, ca.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, trust
}

// TestPecInspectNewFields checks the fields added to the JSON contract.
func TestPecInspectNewFields(t *testing.T) {
	dir, trust := writeFixtures(t)
	tests := []struct {
		file  string
		check func(t *testing.T, v pec.View, text string)
	}{
		{"consegna.eml", func(t *testing.T, v pec.View, text string) {
			if v.Consegna != "procura@pec.example" || v.Format != "pec" || v.SecurityWarning || v.DSN || v.Rewrapped {
				t.Errorf("view %+v", v)
			}
			sigs := map[string]pec.SignatureStatus{}
			for _, a := range v.Attachments {
				sigs[a.Name] = a.Signature.Status
			}
			if sigs["richiesta.pdf.p7m"] != pec.SignatureValid || sigs["richiesta.pdf"] != pec.SignatureValid || sigs["segnatura.xml"] != "" {
				t.Errorf("attachment signatures %v", sigs)
			}
			if !strings.Contains(text, "consegna:       procura@pec.example") || !strings.Contains(text, "signature valid)") {
				t.Errorf("text %s", text)
			}
		}},
		{"presa.eml", func(t *testing.T, v pec.View, text string) {
			if v.Kind != pec.KindPresaInCarico || len(v.Ricezione) != 1 || v.Ricezione[0] != "procura@pec.example" {
				t.Errorf("ricezione %v", v.Ricezione)
			}
			if !strings.Contains(text, "ricezione:      procura@pec.example") {
				t.Errorf("text %s", text)
			}
		}},
		{"virus.eml", func(t *testing.T, v pec.View, text string) {
			if !v.SecurityWarning || v.Error != pec.ErrorVirus {
				t.Errorf("security warning %v error %q", v.SecurityWarning, v.Error)
			}
			if !strings.Contains(text, "security:       X-VerificaSicurezza: errore") {
				t.Errorf("text %s", text)
			}
		}},
		{"lista.eml", func(t *testing.T, v pec.View, text string) {
			if !v.Rewrapped || v.Wrapper.MessageID != "<l-1@lista.example>" || v.Wrapper.Signature.Status != pec.SignatureAbsent ||
				v.Signature.Status != pec.SignatureValid || v.Kind != pec.KindPresaInCarico {
				t.Errorf("rewrapped %v wrapper %+v signature %q", v.Rewrapped, v.Wrapper, v.Signature.Status)
			}
			if !strings.Contains(text, "rewrapped in:   <l-1@lista.example> from lista@lista.example, outer signature absent") {
				t.Errorf("text %s", text)
			}
		}},
		{"dsn.eml", func(t *testing.T, v pec.View, text string) {
			if !v.DSN || v.Kind != pec.KindNonPEC || v.Format != "mail" {
				t.Errorf("dsn %v kind %q", v.DSN, v.Kind)
			}
			if !strings.Contains(text, "dsn:            delivery status notification") {
				t.Errorf("text %s", text)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			var js, txt bytes.Buffer
			if code := run(context.Background(), env{nil, &js, &bytes.Buffer{}}, []string{"pec", "inspect", "--json", "--trust", trust, path}); code != 0 {
				t.Fatalf("exit %d", code)
			}
			if code := run(context.Background(), env{nil, &txt, &bytes.Buffer{}}, []string{"pec", "inspect", "--trust", trust, path}); code != 0 {
				t.Fatalf("exit %d", code)
			}
			var v pec.View
			if err := json.Unmarshal(js.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(js.String(), "null") {
				t.Errorf("JSON has a null: %s", js.String())
			}
			tc.check(t, v, txt.String())
		})
	}
}

// TestPecInspectKey opens a reply encrypted for the Comune with --key.
func TestPecInspectKey(t *testing.T) {
	ca, err := pki.New("CA di prova", false)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := ca.Signer("Gestore di prova", "posta-certificata@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.NewEncryptionKey("Comune di prova", "comune@pec.example")
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, certPEM, err := pki.EncryptionKeyPEM(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := pki.Encrypt([]byte("%PDF-1.4\n"), cert)
	if err != nil {
		t.Fatal(err)
	}
	reply := "From: procura@pec.example\r\nTo: comune@pec.example\r\nSubject: Certificati\r\nMessage-ID: <r@pec.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nCertificati\r\n" +
		"--b\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"c.pdf.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(enc) + "\r\n--b--\r\n"
	var envelope bytes.Buffer
	if _, err := pec.WriteEnvelope(&envelope, []byte(reply), pec.EnvelopeSpec{}, prov); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	eml, keyFile := filepath.Join(dir, "r.eml"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(eml, envelope.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, append(keyPEM, certPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		decrypted bool
		problem   string
	}{
		{"with the key", []string{"--key", keyFile}, true, ""},
		{"without a key", nil, false, "encrypted: an encrypted part could not be opened: no decryption key configured"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			args := append(append([]string{"pec", "inspect", "--json"}, tc.args...), eml)
			if code := run(context.Background(), env{nil, &out, &bytes.Buffer{}}, args); code != 0 {
				t.Fatalf("exit %d", code)
			}
			var v pec.View
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			opened := false
			for _, a := range v.Attachments {
				if a.Encrypted {
					opened = a.Decrypted
				}
				if a.Name == "c.pdf" && !tc.decrypted {
					t.Errorf("opened without a key")
				}
			}
			if opened != tc.decrypted {
				t.Errorf("decrypted = %v, want %v: %+v", opened, tc.decrypted, v.Attachments)
			}
			if got := strings.Join(v.Problems, "\n"); (tc.problem == "") != (got == "") || !strings.Contains(got, tc.problem) {
				t.Errorf("problems %q, want %q", got, tc.problem)
			}
		})
	}
}
