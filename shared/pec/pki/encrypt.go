package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"sync"
	"time"

	"github.com/smallstep/pkcs7"
)

// NewEncryptionKey issues an RSA-2048 key and certificate for name (a
// Comune's mailbox), to which replies can be encrypted: CMS key transport needs
// RSA, whatever the CA's Options say.
func (ca *CA) NewEncryptionKey(name, email string) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: encryption key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"IT"}},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().AddDate(1, 0, 0),
		KeyUsage:       x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{email},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: encryption certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// KeyPEM returns key as a PKCS#8 PEM block and cert as a PEM certificate.
func EncryptionKeyPEM(cert *x509.Certificate, key *rsa.PrivateKey) (keyPEM, certPEM []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), nil
}

// pkcs7 takes its algorithms from package variables: callers of Encrypt take
// turns.
var encryptMu sync.Mutex

// Encrypt returns content as CMS enveloped-data (DER; AES-256-CBC, RSA key
// transport) for recipient.
func Encrypt(content []byte, recipient *x509.Certificate) ([]byte, error) {
	encryptMu.Lock()
	defer encryptMu.Unlock()
	prev := pkcs7.ContentEncryptionAlgorithm
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES256CBC
	defer func() { pkcs7.ContentEncryptionAlgorithm = prev }()
	der, err := pkcs7.Encrypt(content, []*x509.Certificate{recipient})
	if err != nil {
		return nil, fmt.Errorf("pki: encrypt: %w", err)
	}
	return der, nil
}
