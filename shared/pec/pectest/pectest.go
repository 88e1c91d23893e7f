// Package pectest makes certificate authorities and provider signers for tests
// and for the PEC provider simulator: a CA made at start, whose certificate is
// exported (PEM) as the reader's trust store.
package pectest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
)

// CA is a throw-away certificate authority.
type CA struct {
	Certificate *x509.Certificate
	Key         crypto.Signer
	fast        bool
}

// Options tune NewCA.
type Options struct {
	// ECDSA makes P-256 keys instead of RSA-2048 ones (faster to generate;
	// providers use RSA).
	ECDSA bool
}

func newKey(fast bool) (crypto.Signer, error) {
	if fast {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

// NewCA makes a CA named name, valid from an hour ago for ten years.
func NewCA(name string, o Options) (*CA, error) {
	key, err := newKey(o.ECDSA)
	if err != nil {
		return nil, fmt.Errorf("pectest: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"IT"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("pectest: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Certificate: cert, Key: key, fast: o.ECDSA}, nil
}

// NewSigner issues a signing certificate for name (e.g. a provider: "Gestore PEC
// di prova S.p.A.") with the e-mail address email, valid from an hour ago for a year.
func (ca *CA) NewSigner(name, email string) (*pec.Signer, error) {
	return ca.NewSignerValidity(name, email, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
}

// NewSignerValidity is NewSigner with an explicit validity period.
func (ca *CA) NewSignerValidity(name, email string, notBefore, notAfter time.Time) (*pec.Signer, error) {
	key, err := newKey(ca.fast)
	if err != nil {
		return nil, fmt.Errorf("pectest: signer key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"IT"}},
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{email},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pectest: signer certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &pec.Signer{Certificate: cert, Key: key}, nil
}

// CertPEM returns the CA certificate in PEM, the reader's trust store file.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate.Raw})
}

// Pool returns a pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Certificate)
	return p
}
