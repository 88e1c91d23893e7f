// Package pectrust builds the PEC trust store (the PEM of the PEC providers' certificates that
// shared/pec verifies signatures against) from AgID's public index of PEC providers.
//
// The index (RFC 6109, the providers' directory) is an LDAP directory with one entry per provider,
// object class "provider" (1.3.6.1.4.1.16572.2.1.2) with the attributes providerName,
// providerCertificate (the certificate the provider signs receipts and envelopes with),
// providerCertificateHash, mailReceipt and managedDomains (the mail domains it runs), optionally
// description, providerUnit and LDIFLocationURL. Its exports come as LDIF (RFC 2849) or as XML; both
// are read here: LDIF records, and XML where an element holds the attributes either as child elements
// named like them or as DSML attr/value pairs.
//
// Build keeps the certificates that are valid now, reports every provider with its certificates'
// subjects and validity, and flags expired certificates and those that do not match the hash the index
// publishes for them.
package pectrust

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Attribute names of the provider object class (lower-cased: LDAP names are case-insensitive).
const (
	attrName        = "providername"
	attrCertificate = "providercertificate"
	attrHash        = "providercertificatehash"
	attrReceipt     = "mailreceipt"
	attrDomains     = "manageddomains"
	attrUnit        = "providerunit"
	attrDescription = "description"
)

var known = map[string]bool{attrName: true, attrCertificate: true, attrHash: true, attrReceipt: true, attrDomains: true,
	attrUnit: true, attrDescription: true, "ldiflocationurl": true, "objectclass": true}

// Entry is one directory entry as read from an export: its DN and attribute values (names lower-case,
// certificate values as the bytes the export carries).
type Entry struct {
	DN    string
	Attrs map[string][][]byte
}

func (e Entry) first(name string) string {
	if v := e.Attrs[name]; len(v) > 0 {
		return strings.TrimSpace(string(v[0]))
	}
	return ""
}

func (e Entry) all(name string) []string {
	var out []string
	for _, v := range e.Attrs[name] {
		if s := strings.TrimSpace(string(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Status of a certificate in the trust store.
type Status string

const (
	Valid        Status = "valid"
	ExpiringSoon Status = "expiring"      // valid, but for less than Options.Warn
	NotYetValid  Status = "not-yet-valid" // kept: a renewal published ahead of its use
	Expired      Status = "expired"       // left out unless Options.KeepExpired
	HashMismatch Status = "hash-mismatch" // left out: not the certificate the index vouches for
)

// Cert is one provider certificate.
type Cert struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
	Status    Status    `json:"status"`
	Included  bool      `json:"included"`
	cert      *x509.Certificate
}

// Provider is one PEC provider of the index.
type Provider struct {
	Name     string   `json:"name"`
	DN       string   `json:"dn,omitempty"`
	Receipt  string   `json:"mail_receipt,omitempty"`
	Domains  []string `json:"managed_domains,omitempty"`
	Certs    []Cert   `json:"certificates"`
	Problems []string `json:"problems,omitempty"` // certificates that could not be read, hashes that could not be checked
}

// Options of Build.
type Options struct {
	Now         time.Time     // the time validity is judged at; time.Now() when zero
	Warn        time.Duration // flag certificates that expire within this; 30 days when zero
	KeepExpired bool          // keep expired certificates in the PEM (to verify old messages again)
}

// Result is the trust store and its report.
type Result struct {
	PEM       []byte     `json:"-"`
	Providers []Provider `json:"providers"`
	Included  int        `json:"included"`  // certificates in the PEM
	Expired   int        `json:"expired"`   // expired certificates (left out unless KeepExpired)
	Rejected  int        `json:"rejected"`  // certificates left out for a hash mismatch
	Problems  int        `json:"problems"`  // entries or values that could not be used
	Generated time.Time  `json:"generated"` // Options.Now
}

// ErrNoProvider: the export holds no provider entry (not the index, or an empty export).
var ErrNoProvider = errors.New("pectrust: no provider entry (providerCertificate) in the export")

// ErrNoCertificate: no certificate of the export can go into the trust store.
var ErrNoCertificate = errors.New("pectrust: no usable certificate: the trust store would be empty")

// Parse reads an export of the index, LDIF or XML (told apart by the first non-blank character).
func Parse(data []byte) ([]Entry, error) {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		return ParseXML(trimmed)
	}
	return ParseLDIF(trimmed)
}

// Build turns the entries into providers and the trust store: every provider entry (one with
// providerCertificate) is reported; its certificates go into the PEM unless expired (Options.KeepExpired)
// or not matching the published hash. It fails when the export has no provider or no usable certificate.
func Build(entries []Entry, opt Options) (*Result, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Warn == 0 {
		opt.Warn = 30 * 24 * time.Hour
	}
	res := &Result{Generated: opt.Now}
	seen := map[string]bool{}
	var blocks []string
	for _, e := range entries {
		if len(e.Attrs[attrCertificate]) == 0 {
			continue
		}
		p := provider(e, opt)
		for i := range p.Certs {
			c := &p.Certs[i]
			switch {
			case c.Status == HashMismatch:
				res.Rejected++
				continue
			case c.Status == Expired:
				res.Expired++
				if !opt.KeepExpired {
					continue
				}
			}
			c.Included = true
			if seen[c.SHA256] { // one certificate listed under two entries goes in once
				continue
			}
			seen[c.SHA256] = true
			res.Included++
			var b bytes.Buffer
			fmt.Fprintf(&b, "# %s\n# subject: %s\n# valid %s to %s (%s)\n", oneLine(p.Name), c.Subject,
				c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"), c.Status)
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
			blocks = append(blocks, b.String())
		}
		res.Problems += len(p.Problems)
		res.Providers = append(res.Providers, p)
	}
	if len(res.Providers) == 0 {
		return nil, ErrNoProvider
	}
	sort.SliceStable(res.Providers, func(i, j int) bool {
		return strings.ToLower(res.Providers[i].Name) < strings.ToLower(res.Providers[j].Name)
	})
	if res.Included == 0 {
		return res, ErrNoCertificate
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# PEC providers' certificates from AgID's index of PEC providers, built %s by casellario trust build.\n",
		opt.Now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&out, "# %d certificates of %d providers.\n", res.Included, len(res.Providers))
	sort.Strings(blocks)
	for _, b := range blocks {
		out.WriteString(b)
	}
	res.PEM = out.Bytes()
	return res, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// provider reads one provider entry.
func provider(e Entry, opt Options) Provider {
	p := Provider{Name: oneLine(e.first(attrName)), DN: e.DN, Receipt: e.first(attrReceipt), Domains: e.all(attrDomains)}
	if p.Name == "" {
		p.Name = e.DN
		p.Problems = append(p.Problems, "no providerName")
	}
	sort.Strings(p.Domains)
	for i, raw := range e.Attrs[attrCertificate] {
		c, err := certificate(raw)
		if err != nil {
			p.Problems = append(p.Problems, fmt.Sprintf("providerCertificate %d: %v", i+1, err))
			continue
		}
		sum := sha256.Sum256(c.Raw)
		st := Valid
		switch {
		case opt.Now.After(c.NotAfter):
			st = Expired
		case opt.Now.Before(c.NotBefore):
			st = NotYetValid
		case c.NotAfter.Sub(opt.Now) < opt.Warn:
			st = ExpiringSoon
		}
		p.Certs = append(p.Certs, Cert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore,
			NotAfter: c.NotAfter, SHA256: hex.EncodeToString(sum[:]), Status: st, cert: c})
	}
	checkHashes(&p, e.all(attrHash))
	return p
}

// checkHashes compares the published hashes with the certificates: when the index gives hashes, a
// certificate that matches none of them is not the one it vouches for.
func checkHashes(p *Provider, published []string) {
	var want []string
	for _, h := range published {
		v, ok := normalizeHash(h)
		if !ok {
			p.Problems = append(p.Problems, fmt.Sprintf("providerCertificateHash %q: not a SHA-1 or SHA-256 in hex; not checked", h))
			continue
		}
		want = append(want, v)
	}
	if len(want) == 0 {
		return
	}
	for i := range p.Certs {
		c := &p.Certs[i]
		s1 := sha1.Sum(c.cert.Raw)
		match := false
		for _, w := range want {
			match = match || w == hex.EncodeToString(s1[:]) || w == c.SHA256
		}
		if !match {
			c.Status = HashMismatch
		}
	}
}

// normalizeHash accepts hex with an optional algorithm label ("SHA1:", "sha-256#", "{SHA1}") and
// separators (":", spaces), and returns it lower-case without them.
func normalizeHash(h string) (string, bool) {
	v := strings.ToLower(strings.TrimSpace(h))
	for _, label := range []string{"{sha1}", "{sha256}", "sha-256", "sha256", "sha-1", "sha1"} {
		if strings.HasPrefix(v, label) {
			v = strings.TrimLeft(v[len(label):], ":#= ")
			break
		}
	}
	v = strings.NewReplacer(":", "", " ", "").Replace(v)
	if _, err := hex.DecodeString(v); err != nil || (len(v) != 40 && len(v) != 64) {
		return "", false
	}
	return v, true
}

// certificate reads a providerCertificate value: DER (LDIF's binary value), PEM, or base64 of DER.
func certificate(raw []byte) (*x509.Certificate, error) {
	if c, err := x509.ParseCertificate(raw); err == nil {
		return c, nil
	}
	if blk, _ := pem.Decode(raw); blk != nil {
		return x509.ParseCertificate(blk.Bytes)
	}
	text := strings.Join(strings.Fields(string(raw)), "")
	der, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, errors.New("neither DER, PEM nor base64")
	}
	return x509.ParseCertificate(der)
}
