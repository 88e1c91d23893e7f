// Package pki is a throw-away certificate authority, the one of the tests and
// of the PEC provider simulator (made at start, or loaded with Parse when the
// simulator keeps its state): it issues providers' signing certificates
// (S/MIME of envelopes and receipts), TLS certificates for loopback servers
// and a Comune's encryption key. Its certificate (PEM) is the trust store of
// whoever reads the mail it signs. Nothing here is for production.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
)

// CA is a throw-away certificate authority.
type CA struct {
	Certificate *x509.Certificate
	Key         crypto.Signer
	rsa         bool
}

// Validity of everything the CA issues: from a day ago (so that a clock set
// slightly back still verifies) for ten years (a compressed clock runs ahead).
var (
	notBefore = func() time.Time { return time.Now().Add(-24 * time.Hour) }
	notAfter  = func() time.Time { return time.Now().AddDate(10, 0, 0) }
)

func newKey(useRSA bool) (crypto.Signer, error) {
	if useRSA {
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n.Add(n, big.NewInt(1))
}

// New makes a CA named name. RSA keys are what real providers use; ECDSA P-256
// keys (the default) are much faster to make.
func New(name string, useRSA bool) (*CA, error) {
	key, err := newKey(useRSA)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"IT"}},
		NotBefore:             notBefore(),
		NotAfter:              notAfter(),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, err := create(tmpl, tmpl, key, key)
	if err != nil {
		return nil, err
	}
	return &CA{Certificate: cert, Key: key, rsa: useRSA}, nil
}

func create(tmpl, parent *x509.Certificate, pub crypto.Signer, signer crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Signer issues a provider signing certificate for name with the address email.
func (ca *CA) Signer(name, email string) (*pec.Signer, error) {
	return ca.SignerValidity(name, email, notBefore(), notAfter())
}

// SignerValidity is Signer with an explicit validity period (expired and
// not-yet-valid signers, in tests).
func (ca *CA) SignerValidity(name, email string, from, until time.Time) (*pec.Signer, error) {
	key, err := newKey(ca.rsa)
	if err != nil {
		return nil, fmt.Errorf("pki: signer key: %w", err)
	}
	cert, err := create(&x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"IT"}},
		NotBefore:      from,
		NotAfter:       until,
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{email},
	}, ca.Certificate, key, ca.Key)
	if err != nil {
		return nil, err
	}
	return &pec.Signer{Certificate: cert, Key: key}, nil
}

// TLSCertificate issues a server certificate for localhost and the loopback
// addresses.
func (ca *CA) TLSCertificate() (tls.Certificate, error) {
	key, err := newKey(false)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: TLS key: %w", err)
	}
	cert, err := create(&x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    notBefore(),
		NotAfter:     notAfter(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}, ca.Certificate, key, ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}, nil
}

// PEM returns the CA certificate in PEM.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate.Raw})
}

// KeyPEM returns the CA's private key in PEM (PKCS #8): a secret, to be
// written only to a file of mode 0600.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Parse loads a CA from its certificate (as PEM returns it) and its key (as
// KeyPEM returns it). useRSA chooses the keys of what it issues, as in New.
func Parse(certPEM, keyPEM []byte, useRSA bool) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("pki: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("pki: the certificate is not a CA")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, errors.New("pki: no PEM private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("pki: private key: %w", err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("pki: unsupported key %T", k)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("pki: the private key does not match the certificate")
	}
	return &CA{Certificate: cert, Key: key, rsa: useRSA}, nil
}

// Pool returns a pool holding the CA certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Certificate)
	return p
}

// ClientTLS returns the TLS configuration of a client of the simulator's servers.
func (ca *CA) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
}
