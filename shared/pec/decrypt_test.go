package pec_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

var certPDF = []byte("%PDF-1.4\n% certificato del casellario\n%%EOF\n")

type comuneKeys struct {
	key, other pec.DecryptionKey
	keyPEM     []byte
	certPEM    []byte
}

var testComuneKeys = sync.OnceValues(func() (*comuneKeys, error) {
	p, err := testKeys()
	if err != nil {
		return nil, err
	}
	k := &comuneKeys{}
	cert, key, err := p.ca.NewEncryptionKey("Comune di Prato", "protocollo@pec.comune.example")
	if err != nil {
		return nil, err
	}
	if k.keyPEM, k.certPEM, err = pki.EncryptionKeyPEM(cert, key); err != nil {
		return nil, err
	}
	if k.key, err = pec.ParseDecryptionKey(k.keyPEM, k.certPEM); err != nil {
		return nil, err
	}
	ocert, okey, err := p.ca.NewEncryptionKey("Comune di Vaiano", "protocollo@pec.vaiano.example")
	if err != nil {
		return nil, err
	}
	k.other = pec.DecryptionKey{Certificate: ocert, Key: okey}
	return k, nil
})

func encryptFor(t *testing.T, content []byte, k pec.DecryptionKey) string {
	t.Helper()
	der, err := pki.Encrypt(content, k.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	return wrap76(base64.StdEncoding.EncodeToString(der))
}

// procuraReply is the Procura's reply with the given parts after its text.
func procuraReply(parts ...string) []byte {
	var b strings.Builder
	b.WriteString("From: procura@pec.giustizia.example\r\nTo: protocollo@pec.comune.example\r\nSubject: Certificati prot. 0001234\r\n")
	b.WriteString("Message-ID: <reply-1@pec.giustizia.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"r\"\r\n\r\n")
	b.WriteString("--r\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIn allegato i certificati.\r\n")
	for _, p := range parts {
		b.WriteString("--r\r\n" + p + "\r\n")
	}
	b.WriteString("--r--\r\n")
	return []byte(b.String())
}

func encryptedPart(name, b64 string) string {
	return "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"" + name + "\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + b64
}

func TestEncryptedReplies(t *testing.T) {
	p := getPKI(t)
	keys, err := testComuneKeys()
	if err != nil {
		t.Fatal(err)
	}
	signedPDF, err := p.user.SignCAdES(certPDF)
	if err != nil {
		t.Fatal(err)
	}
	inner := "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCertificato cifrato.\r\n" +
		"--in\r\nContent-Type: application/pdf; name=\"certificato.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"certificato.pdf\"\r\n\r\n" +
		base64.StdEncoding.EncodeToString(certPDF) + "\r\n--in--\r\n"
	wholeSMIME := "From: procura@pec.giustizia.example\r\nTo: protocollo@pec.comune.example\r\nSubject: Certificati\r\nMessage-ID: <reply-2@pec.giustizia.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n" + encryptFor(t, []byte(inner), keys.key) + "\r\n"

	attachment := procuraReply(encryptedPart("certificato.pdf.p7m", encryptFor(t, certPDF, keys.key)))
	tests := []struct {
		name      string
		original  []byte
		keys      []pec.DecryptionKey
		decrypted bool
		problem   string // text of the ProblemEncrypted, "" for none
		file      string // the opened file expected among the attachments
		signed    bool   // the opened file carries a valid CAdES signature
		text      string // the original's text
	}{
		{name: "attachment, the Comune's key", original: attachment, keys: []pec.DecryptionKey{keys.key}, decrypted: true, file: "certificato.pdf"},
		{name: "attachment, two keys, the second one right", original: attachment, keys: []pec.DecryptionKey{keys.other, keys.key}, decrypted: true, file: "certificato.pdf"},
		{name: "attachment, no key", original: attachment, problem: "no decryption key configured"},
		{name: "attachment, another Comune's key", original: attachment, keys: []pec.DecryptionKey{keys.other}, problem: "not encrypted for the configured key"},
		{name: "signed, then encrypted", original: procuraReply(encryptedPart("certificato.pdf.p7m", encryptFor(t, signedPDF, keys.key))),
			keys: []pec.DecryptionKey{keys.key}, decrypted: true, file: "certificato.pdf", signed: true},
		{name: ".p7e name, octet-stream", original: procuraReply("Content-Type: application/octet-stream; name=\"certificato.pdf.p7e\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encryptFor(t, certPDF, keys.key)),
			keys: []pec.DecryptionKey{keys.key}, decrypted: true, file: "certificato.pdf"},
		{name: "whole original (S/MIME)", original: []byte(wholeSMIME), keys: []pec.DecryptionKey{keys.key}, decrypted: true, file: "certificato.pdf", text: "Certificato cifrato."},
		{name: "whole original, no key", original: []byte(wholeSMIME), problem: "no decryption key configured"},
		{name: "malformed enveloped-data", original: procuraReply(encryptedPart("certificato.pdf.p7m", "MIIBbm90IGNtcw==")), keys: []pec.DecryptionKey{keys.key}, problem: "malformed enveloped-data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var env bytes.Buffer
			if _, err := pec.WriteEnvelope(&env, tc.original, pec.EnvelopeSpec{Identificativo: "opec-enc@pec.prova.example"}, p.provider); err != nil {
				t.Fatal(err)
			}
			m, err := pec.Parse(env.Bytes(), pec.ReadOptions{TrustStore: p.ca.Pool(), DecryptionKeys: tc.keys})
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != pec.KindPostaCertificata || m.Signature.Status != pec.SignatureValid {
				t.Fatalf("kind %q signature %q: the message must still be read", m.Kind, m.Signature.Status)
			}
			var enc *pec.Attachment
			byName := map[string]pec.Attachment{}
			for i, a := range m.Attachments() {
				byName[a.Name] = a
				if a.Encrypted && enc == nil {
					enc = &m.Attachments()[i]
				}
			}
			if enc == nil {
				t.Fatalf("no encrypted attachment in %v", byName)
			}
			if enc.Decrypted != tc.decrypted {
				t.Errorf("decrypted = %v, want %v", enc.Decrypted, tc.decrypted)
			}
			if got := problemText(m); (tc.problem == "") == m.HasProblem(pec.ProblemEncrypted) || (tc.problem != "" && !strings.Contains(got, tc.problem)) {
				t.Errorf("problems %v, want encrypted problem %q", m.Problems, tc.problem)
			}
			v := m.View()
			found := false
			for _, a := range v.Attachments {
				found = found || (a.Encrypted && a.Decrypted == tc.decrypted)
			}
			if !found {
				t.Errorf("JSON does not show the encrypted part: %+v", v.Attachments)
			}
			if tc.text != "" {
				if txt, err := m.Original.Text(); err != nil || txt != tc.text {
					t.Errorf("text %q %v", txt, err)
				}
			}
			if tc.file == "" {
				return
			}
			f, ok := byName[tc.file]
			if !ok {
				t.Fatalf("%s not opened: %v", tc.file, byName)
			}
			if f.SHA256 != sha(certPDF) || f.Size != int64(len(certPDF)) || f.ContentType != "application/pdf" {
				t.Errorf("opened file %+v", f)
			}
			if tc.signed != (f.Signature != nil && f.Signature.Status == pec.SignatureValid) {
				t.Errorf("signature of the opened file %+v", f.Signature)
			}
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(r); !bytes.Equal(got, certPDF) {
				t.Errorf("Open returned %q", got)
			}
		})
	}
}

func TestParseDecryptionKey(t *testing.T) {
	keys, err := testComuneKeys()
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	otherKeyPEM, otherCertPEM, err := pki.EncryptionKeyPEM(keys.other.Certificate, mustRSA(t, keys.other))
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(mustRSA(t, keys.other))})
	tests := []struct {
		name          string
		key, cert     []byte
		err           string
		wantCertEmail string
	}{
		{name: "PKCS#8 and certificate", key: keys.keyPEM, cert: keys.certPEM, wantCertEmail: "protocollo@pec.comune.example"},
		{name: "one file with both", key: append(append([]byte{}, keys.certPEM...), keys.keyPEM...), cert: append(append([]byte{}, keys.certPEM...), keys.keyPEM...), wantCertEmail: "protocollo@pec.comune.example"},
		{name: "PKCS#1", key: pkcs1, cert: otherCertPEM, wantCertEmail: "protocollo@pec.vaiano.example"},
		{name: "no key", key: keys.certPEM, cert: keys.certPEM, err: "no PEM private key"},
		{name: "not PEM", key: []byte("chiave"), cert: keys.certPEM, err: "no PEM private key"},
		{name: "EC key", key: ecPEM, cert: keys.certPEM, err: "only an RSA key"},
		{name: "EC PRIVATE KEY block", key: []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"), cert: keys.certPEM, err: "an unencrypted RSA key is needed"},
		{name: "broken key", key: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), cert: keys.certPEM, err: "private key"},
		{name: "key of another certificate", key: otherKeyPEM, cert: keys.certPEM, err: "does not match"},
		{name: "no certificate", key: keys.keyPEM, cert: keys.keyPEM, err: "no PEM certificate"},
		{name: "broken certificate", key: keys.keyPEM, cert: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), err: "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dk, err := pec.ParseDecryptionKey(tc.key, tc.cert)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dk.Key == nil || dk.Certificate == nil || dk.Certificate.EmailAddresses[0] != tc.wantCertEmail {
				t.Errorf("key %+v", dk)
			}
		})
	}
}

func mustRSA(t *testing.T, k pec.DecryptionKey) *rsa.PrivateKey {
	t.Helper()
	rk, ok := k.Key.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("key is %T", k.Key)
	}
	return rk
}
