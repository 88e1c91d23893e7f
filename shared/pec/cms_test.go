package pec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// cmsPKI is a CA with an RSA and an ECDSA signer, and one that expired.
type cmsPKI struct {
	ca                      *x509.Certificate
	pool                    *x509.CertPool
	rsaCert, ecCert, expire *x509.Certificate
	rsaKey, ecKey, expKey   crypto.Signer
}

var testCMSPKI = sync.OnceValues(func() (*cmsPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA di prova"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(der)
	issue := func(serial int64, key crypto.Signer, from, to time.Time) (*x509.Certificate, error) {
		t := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Gestore di prova"},
			NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, t, ca, key.Public(), caKey)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	p := &cmsPKI{ca: ca, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.expKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.rsaCert, err = issue(2, p.rsaKey, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)); err != nil {
		return nil, err
	}
	if p.ecCert, err = issue(3, p.ecKey, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0)); err != nil {
		return nil, err
	}
	if p.expire, err = issue(4, p.expKey, time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0)); err != nil {
		return nil, err
	}
	return p, nil
})

type cmsCase struct {
	name    string
	der     []byte
	content []byte // the content checked (detached); nil: the attached one
}

// cmsCases signs content in the ways providers and signing tools do, and
// spoils some of them.
func cmsCases(t testing.TB) []cmsCase {
	t.Helper()
	p, err := testCMSPKI()
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("Content-Type: text/plain\r\n\r\nRicevuta di accettazione\r\n")
	sign := func(cert *x509.Certificate, key crypto.Signer, digest asn1.ObjectIdentifier, attrs, detached bool, more func(*pkcs7.SignedData)) []byte {
		sd, err := pkcs7.NewSignedData(content)
		if err != nil {
			t.Fatal(err)
		}
		if digest != nil {
			sd.SetDigestAlgorithm(digest)
		}
		if attrs {
			err = sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{})
		} else {
			err = sd.SignWithoutAttr(cert, key, pkcs7.SignerInfoConfig{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if more != nil {
			more(sd)
		}
		if detached {
			sd.Detach()
		}
		der, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	rsa256 := sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA256, true, true, nil)
	attached := sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA256, true, false, nil)
	flipped := bytes.Clone(rsa256)
	flipped[len(flipped)-5] ^= 0xff // inside the signature value
	altered := bytes.Clone(content)
	altered[len(altered)-3] = 'X'
	return []cmsCase{
		{"rsa sha-256 detached", rsa256, content},
		{"rsa sha-1 detached", sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA1, true, true, nil), content},
		{"rsa sha-384 attached", sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA384, true, false, nil), nil},
		{"rsa sha-512 attached", sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA512, true, false, nil), nil},
		{"ecdsa sha-256 attached", sign(p.ecCert, p.ecKey, pkcs7.OIDDigestAlgorithmSHA256, true, false, nil), nil},
		{"without signed attributes", sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA256, false, true, nil), content},
		{"two signers", sign(p.rsaCert, p.rsaKey, pkcs7.OIDDigestAlgorithmSHA256, true, true, func(sd *pkcs7.SignedData) {
			if err := sd.AddSigner(p.ecCert, p.ecKey, pkcs7.SignerInfoConfig{}); err != nil {
				t.Fatal(err)
			}
		}), content},
		{"signer certificate left out", withoutCertificates(t, rsa256), content},
		{"signed after the certificate expired", sign(p.expire, p.expKey, pkcs7.OIDDigestAlgorithmSHA256, true, true, nil), content},
		{"content altered", rsa256, altered},
		{"signature value altered", flipped, content},
		{"indefinite lengths (BER)", toBER(t, rsa256), content},
		{"indefinite lengths throughout (BER)", deepBER(t, rsa256, 0), content},
		{"attached content in chunks (BER)", deepBER(t, attached, 3), nil},
	}
}

// withoutCertificates drops the certificates field of a DER SignedData.
func withoutCertificates(t testing.TB, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var ci, explicit, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1ObjectIdentifier(&oid) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		t.Fatal("not a SignedData")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for !sd.Empty() {
					var e cryptobyte.String
					var tag cbasn1.Tag
					if !sd.ReadAnyASN1Element(&e, &tag) {
						t.Fatal("malformed SignedData")
					}
					if tag != cbasn1.Tag(0).Constructed().ContextSpecific() {
						b.AddBytes(e)
					}
				}
			})
		})
	})
	return b.BytesOrPanic()
}

// toBER re-encodes the outer ContentInfo and SignedData with indefinite
// lengths, as BER writers do; the fast reader leaves it to pkcs7.
func toBER(t testing.TB, der []byte) []byte {
	t.Helper()
	var ci asn1.RawValue
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	var out []byte
	out = append(out, 0x30, 0x80)
	out = append(out, ci.Bytes...)
	return append(out, 0, 0)
}

// deepBER re-encodes every constructed element of a DER encoding with an
// indefinite length, as streaming signers do; with chunk > 0 it also cuts the
// first OCTET STRING (the attached content) into a constructed string.
func deepBER(t testing.TB, der []byte, chunk int) []byte {
	t.Helper()
	chunked := false
	var conv func(in cryptobyte.String) []byte
	conv = func(in cryptobyte.String) []byte {
		var out []byte
		for !in.Empty() {
			var el cryptobyte.String
			var tag cbasn1.Tag
			if !in.ReadAnyASN1Element(&el, &tag) {
				t.Fatal("malformed DER")
			}
			full := el
			var body cryptobyte.String
			if !el.ReadAnyASN1(&body, &tag) {
				t.Fatal("malformed DER")
			}
			switch {
			case tag&0x20 != 0:
				out = append(out, byte(tag), 0x80)
				out = append(out, conv(body)...)
				out = append(out, 0, 0)
			case tag == cbasn1.OCTET_STRING && chunk > 0 && !chunked && len(body) > chunk:
				chunked = true
				out = append(out, 0x24, 0x80)
				for len(body) > 0 {
					n := min(chunk, len(body))
					out = append(out, 0x04, byte(n))
					out = append(out, body[:n]...)
					body = body[n:]
				}
				out = append(out, 0, 0)
			default:
				out = append(out, full...)
			}
		}
		return out
	}
	return conv(cryptobyte.String(der))
}

// legacyCheck is the reader's path before the fast reader: smallstep/pkcs7.
func legacyCheck(ctx *readCtx, der, content []byte) Signature {
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return Signature{Status: SignatureInvalid, Reason: "malformed PKCS#7 signature: " + err.Error()}
	}
	if content != nil {
		p7.Content = content
	}
	return ctx.verifyP7(p7)
}

// fastCheck is the reader's path today.
func fastCheck(ctx *readCtx, der, content []byte) (Signature, bool) {
	sd, err := parseCMSFast(der)
	if err != nil {
		return Signature{}, false
	}
	if content == nil {
		content = sd.content
	}
	return ctx.checkFast(sd, content, &digestMemo{}), true
}

func TestCMSAgreesWithPKCS7(t *testing.T) {
	p, err := testCMSPKI()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]SignatureStatus{
		"rsa sha-256 detached": SignatureValid, "rsa sha-1 detached": SignatureValid, "rsa sha-384 attached": SignatureValid,
		"rsa sha-512 attached": SignatureValid, "ecdsa sha-256 attached": SignatureValid, "without signed attributes": SignatureValid,
		"two signers": SignatureValid, "signer certificate left out": SignatureInvalid,
		"signed after the certificate expired": SignatureInvalid, "content altered": SignatureInvalid,
		"signature value altered": SignatureInvalid, "indefinite lengths (BER)": SignatureValid,
		"indefinite lengths throughout (BER)": SignatureValid, "attached content in chunks (BER)": SignatureValid,
	}
	for _, tc := range cmsCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			for _, trust := range []*x509.CertPool{p.pool, nil} {
				ctx := newCtx(ReadOptions{TrustStore: trust})
				old := legacyCheck(ctx, tc.der, tc.content)
				got, fast := fastCheck(ctx, tc.der, tc.content)
				if !fast {
					t.Fatal("the fast reader refused a DER signature")
				}
				if got.Status != old.Status || got.Reason != old.Reason || got.Signer != old.Signer || !got.SigningTime.Equal(old.SigningTime) {
					t.Errorf("fast %+v\nold  %+v", got, old)
				}
				w := want[tc.name]
				if trust == nil && w == SignatureValid {
					w = SignatureUntrusted
				}
				if got.Status != w {
					t.Errorf("status %s (%s), want %s", got.Status, got.Reason, w)
				}
			}
		})
	}
}

func TestChainCacheWindow(t *testing.T) {
	p, err := testCMSPKI()
	if err != nil {
		t.Fatal(err)
	}
	leaf := canonicalCertificate(p.rsaCert)
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", time.Now(), true},
		{"now again, from the cache", time.Now().Add(time.Minute), true},
		{"before the certificate", p.rsaCert.NotBefore.Add(-time.Hour), false},
		{"after the certificate", p.rsaCert.NotAfter.Add(time.Hour), false},
		{"after the CA", p.ca.NotAfter.Add(time.Hour), false},
		{"now, once more", time.Now(), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := verifyChain(leaf, nil, p.pool, tc.at); (err == nil) != tc.ok {
				t.Errorf("verifyChain at %v: %v, want ok=%v", tc.at, err, tc.ok)
			}
		})
	}
	if err := verifyChain(leaf, nil, x509.NewCertPool(), time.Now()); err == nil {
		t.Error("a cached success leaked to another trust store")
	}
}

func FuzzCMS(f *testing.F) {
	for _, tc := range cmsCases(f) {
		f.Add(tc.der, tc.content != nil)
	}
	p, err := testCMSPKI()
	if err != nil {
		f.Fatal(err)
	}
	content := []byte("Content-Type: text/plain\r\n\r\nRicevuta di accettazione\r\n")
	f.Fuzz(func(t *testing.T, der []byte, detached bool) {
		c := content
		if !detached {
			c = nil
		}
		ctx := newCtx(ReadOptions{TrustStore: p.pool})
		got, fast := fastCheck(ctx, der, c)
		if !fast {
			return
		}
		old := legacyCheck(ctx, der, c)
		if got.Status != old.Status && (got.Status != SignatureInvalid || old.Reason[:9] != "malformed") {
			t.Fatalf("fast %s (%s), pkcs7 %s (%s)", got.Status, got.Reason, old.Status, old.Reason)
		}
	})
}
