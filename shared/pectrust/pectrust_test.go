package pectrust

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// newCert makes a self-signed certificate valid from..until, as a provider's signing certificate.
func newCert(t *testing.T, cn string, from, until time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(from.UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{cn + " S.p.A."}, Country: []string{"IT"}},
		NotBefore: from, NotAfter: until, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func sha1Hex(der []byte) string { s := sha1.Sum(der); return hex.EncodeToString(s[:]) }

// fold writes an LDIF value line folded at 76 columns, as exporters do.
func fold(line string) string {
	var b strings.Builder
	for len(line) > 76 {
		b.WriteString(line[:76] + "\n ")
		line = line[76:]
	}
	b.WriteString(line + "\n")
	return b.String()
}

type fixture struct {
	valid, renewal, expired, expiring, mismatched []byte
}

func certs(t *testing.T) fixture {
	return fixture{
		valid:      newCert(t, "Gestore Uno PEC", now.AddDate(-1, 0, 0), now.AddDate(2, 0, 0)),
		renewal:    newCert(t, "Gestore Uno PEC 2027", now.AddDate(0, 1, 0), now.AddDate(3, 0, 0)),
		expired:    newCert(t, "Gestore Due PEC", now.AddDate(-3, 0, 0), now.AddDate(0, 0, -1)),
		expiring:   newCert(t, "Gestore Tre PEC", now.AddDate(-1, 0, 0), now.AddDate(0, 0, 10)),
		mismatched: newCert(t, "Gestore Quattro PEC", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)),
	}
}

// ldifExport is an index export in LDIF: four providers, one with two certificates (the current one
// and its renewal), one expired, one about to expire, one whose certificate does not match its hash.
func ldifExport(t *testing.T, f fixture) []byte {
	var b strings.Builder
	b.WriteString("# export of the index of PEC providers\nversion: 1\n\n")
	b.WriteString("dn: o=postacert\nobjectClass: top\nobjectClass: organization\no: postacert\n\n")
	entry := func(dn, name string, hashes []string, ders ...[]byte) {
		b.WriteString("dn: " + dn + "\nobjectClass: top\nobjectClass: provider\n")
		b.WriteString("providerName: " + name + "\n")
		for _, h := range hashes {
			b.WriteString("providerCertificateHash: " + h + "\n")
		}
		for _, d := range ders {
			b.WriteString(fold("providerCertificate;binary:: " + base64.StdEncoding.EncodeToString(d)))
		}
		b.WriteString("mailReceipt: posta-certificata@" + strings.ToLower(strings.Fields(name)[1]) + ".it\n")
		b.WriteString("managedDomains: pec." + strings.ToLower(strings.Fields(name)[1]) + ".it\nmanagedDomains: legalmail.example.it\n\n")
	}
	entry("providerName=Gestore Uno,o=postacert", "Gestore Uno", []string{"SHA1:" + strings.ToUpper(sha1Hex(f.valid)), sha1Hex(f.renewal)}, f.valid, f.renewal)
	entry("providerName=Gestore Due,o=postacert", "Gestore Due", nil, f.expired)
	entry("providerName=Gestore Tre,o=postacert", "Gestore Tre", nil, f.expiring)
	entry("providerName=Gestore Quattro,o=postacert", "Gestore Quattro", []string{sha1Hex(f.valid)}, f.mismatched)
	return []byte(b.String())
}

func byName(r *Result) map[string]Provider {
	out := map[string]Provider{}
	for _, p := range r.Providers {
		out[p.Name] = p
	}
	return out
}

func TestBuildFromLDIF(t *testing.T) {
	f := certs(t)
	entries, err := Parse(ldifExport(t, f))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(entries, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ps := byName(r)
	tests := []struct {
		provider string
		status   []Status
		included []bool
	}{
		{"Gestore Uno", []Status{Valid, NotYetValid}, []bool{true, true}},
		{"Gestore Due", []Status{Expired}, []bool{false}},
		{"Gestore Tre", []Status{ExpiringSoon}, []bool{true}},
		{"Gestore Quattro", []Status{HashMismatch}, []bool{false}},
	}
	for _, tt := range tests {
		p, ok := ps[tt.provider]
		if !ok {
			t.Errorf("%s missing", tt.provider)
			continue
		}
		for i, c := range p.Certs {
			if c.Status != tt.status[i] || c.Included != tt.included[i] {
				t.Errorf("%s certificate %d (%s): %s included %v, want %s %v", tt.provider, i, c.Subject, c.Status, c.Included, tt.status[i], tt.included[i])
			}
		}
	}
	uno := ps["Gestore Uno"]
	if uno.Receipt != "posta-certificata@uno.it" || fmt.Sprint(uno.Domains) != "[legalmail.example.it pec.uno.it]" || uno.DN != "providerName=Gestore Uno,o=postacert" {
		t.Errorf("Gestore Uno: %+v", uno)
	}
	if !strings.Contains(uno.Certs[0].Subject, "CN=Gestore Uno PEC") {
		t.Errorf("subject %s", uno.Certs[0].Subject)
	}
	if r.Included != 3 || r.Expired != 1 || r.Rejected != 1 || r.Problems != 0 || len(r.Providers) != 4 {
		t.Errorf("counts: included %d expired %d rejected %d problems %d providers %d", r.Included, r.Expired, r.Rejected, r.Problems, len(r.Providers))
	}
	// The PEM is what shared/pec loads, and holds exactly the included certificates.
	if _, err := pec.ParseTrustStore(r.PEM); err != nil {
		t.Fatalf("trust store: %v", err)
	}
	var got []string
	for rest := r.PEM; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		got = append(got, sha1Hex(blk.Bytes))
	}
	for _, d := range [][]byte{f.valid, f.renewal, f.expiring} {
		if !strings.Contains(fmt.Sprint(got), sha1Hex(d)) {
			t.Errorf("PEM lacks %s", sha1Hex(d))
		}
	}
	if len(got) != 3 {
		t.Errorf("PEM holds %d certificates, want 3", len(got))
	}
	var rep bytes.Buffer
	if err := r.WriteReport(&rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Gestore Due", "EXPIRED", "HASH-MISMATCH", "not-yet-valid", "expiring", "4 providers; 3 certificates in the trust store; 1 expired (left out); 1 rejected"} {
		if !strings.Contains(rep.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, rep.String())
		}
	}
}

func TestKeepExpired(t *testing.T) {
	f := certs(t)
	entries, err := ParseLDIF(ldifExport(t, f))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(entries, Options{Now: now, KeepExpired: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Included != 4 || !byName(r)["Gestore Due"].Certs[0].Included {
		t.Errorf("KeepExpired: included %d", r.Included)
	}
	var rep bytes.Buffer
	_ = r.WriteReport(&rep)
	if !strings.Contains(rep.String(), "1 expired (kept)") {
		t.Errorf("report: %s", rep.String())
	}
}

// XML exports: child elements named like the attributes, or DSML attr/value pairs.
func TestBuildFromXML(t *testing.T) {
	f := certs(t)
	b64 := func(d []byte) string { return base64.StdEncoding.EncodeToString(d) }
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.expiring}))
	tests := []struct {
		name string
		xml  string
		want map[string]int // provider -> certificates
	}{
		{"elements", `<?xml version="1.0" encoding="UTF-8"?>
<gestori>
  <provider dn="providerName=Gestore Uno,o=postacert">
    <providerName>Gestore Uno</providerName>
    <providerCertificateHash>` + sha1Hex(f.valid) + `</providerCertificateHash>
    <providerCertificate>` + b64(f.valid) + `</providerCertificate>
    <managedDomains>pec.uno.it</managedDomains>
    <mailReceipt>posta-certificata@uno.it</mailReceipt>
  </provider>
  <provider><dn>providerName=Gestore Tre,o=postacert</dn><providerName>Gestore Tre</providerName>
    <providerCertificate>` + pemText + `</providerCertificate></provider>
</gestori>`, map[string]int{"Gestore Uno": 1, "Gestore Tre": 1}},
		{"DSML", `<dsml:dsml xmlns:dsml="http://www.dsml.org/DSML"><dsml:directory-entries>
  <dsml:entry dn="providerName=Gestore Uno,o=postacert">
    <dsml:objectclass><dsml:oc-value>provider</dsml:oc-value></dsml:objectclass>
    <dsml:attr name="providerName"><dsml:value>Gestore Uno</dsml:value></dsml:attr>
    <dsml:attr name="providerCertificate"><dsml:value encoding="base64">` + b64(f.valid) + `</dsml:value><dsml:value encoding="base64">` + b64(f.renewal) + `</dsml:value></dsml:attr>
    <dsml:attr name="managedDomains"><dsml:value>pec.uno.it</dsml:value><dsml:value>uno.legalmail.it</dsml:value></dsml:attr>
  </dsml:entry>
</dsml:directory-entries></dsml:dsml>`, map[string]int{"Gestore Uno": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Parse([]byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Build(entries, Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, p := range r.Providers {
				got[p.Name] = len(p.Certs)
				if len(p.Problems) > 0 {
					t.Errorf("%s: %v", p.Name, p.Problems)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("providers %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"no colon", "dn: o=x\nproviderName Gestore\n", "no attribute name"},
		{"attribute before dn", "providerName: Gestore\n", "before any dn"},
		{"bad base64", "dn: o=x\nproviderCertificate:: %%%\n", "bad base64"},
		{"value by URL", "dn: o=x\nproviderCertificate:< file:///etc/cert.der\n", "value by URL"},
		{"broken XML", "<gestori><provider>", "XML"},
		{"DSML bad base64", `<entry dn="x"><attr name="providerName"><value encoding="base64">%%%</value></attr></entry>`, "bad base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	f := certs(t)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		ldif string
		want error
		msg  string // a provider problem expected
	}{
		{"no provider", "version: 1\n\ndn: o=postacert\no: postacert\n", ErrNoProvider, ""},
		{"empty", "", ErrNoProvider, ""},
		{"only expired", "dn: x\nproviderName: Gestore Due\nproviderCertificate:: " + b64(f.expired) + "\n", ErrNoCertificate, ""},
		{"unreadable certificate", "dn: x\nproviderName: Gestore Cinque\nproviderCertificate:: " + b64([]byte("not a certificate")) + "\n", ErrNoCertificate, "providerCertificate 1"},
		{"text certificate", "dn: x\nproviderName: Gestore Cinque\nproviderCertificate: not base64!\n", ErrNoCertificate, "neither DER, PEM nor base64"},
		{"unparseable hash", "dn: x\nproviderName: Gestore Uno\nproviderCertificateHash: md5:abc\nproviderCertificate:: " + b64(f.valid) + "\n", nil, "not a SHA-1 or SHA-256"},
		{"no name", "dn: providerName=Anon,o=postacert\nproviderCertificate:: " + b64(f.valid) + "\n", nil, "no providerName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := ParseLDIF([]byte(tt.ldif))
			if err != nil {
				t.Fatal(err)
			}
			r, err := Build(entries, Options{Now: now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Build: %v, want %v", err, tt.want)
			}
			if tt.msg != "" {
				if r == nil || len(r.Providers) == 0 || !strings.Contains(fmt.Sprint(r.Providers[0].Problems), tt.msg) {
					t.Fatalf("problems: %+v, want %q", r, tt.msg)
				}
			}
		})
	}
}

func TestNormalizeHash(t *testing.T) {
	const h = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{h, h, true},
		{"SHA1:" + strings.ToUpper(h), h, true},
		{"{SHA1}" + h, h, true},
		{"sha-1# 01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67", h, true},
		{"sha256:" + h + "0123456789abcdef01234567", h + "0123456789abcdef01234567", true},
		{"md5:" + h[:32], "", false},
		{"xyz", "", false},
	}
	for _, tt := range tests {
		got, ok := normalizeHash(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normalizeHash(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// A certificate listed under two entries goes into the store once; BOM and CRLF are read.
func TestDuplicatesAndLineEndings(t *testing.T) {
	f := certs(t)
	b64 := base64.StdEncoding.EncodeToString(f.valid)
	data := "\xef\xbb\xbfdn: a\r\nproviderName: Gestore Uno\r\nproviderCertificate:: " + b64 + "\r\n\r\ndn: b\r\nproviderName: Gestore Uno bis\r\nproviderCertificate:: " + b64 + "\r\n"
	entries, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(entries, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Included != 1 || len(r.Providers) != 2 || strings.Count(string(r.PEM), "BEGIN CERTIFICATE") != 1 {
		t.Errorf("included %d providers %d:\n%s", r.Included, len(r.Providers), r.PEM)
	}
}
