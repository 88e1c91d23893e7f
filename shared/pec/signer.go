package pec

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
)

// Signer signs as a provider (S/MIME of envelopes and receipts) or as a user
// (CAdES .p7m attachments).
type Signer struct {
	Certificate *x509.Certificate
	Key         crypto.Signer
	// Chain holds the intermediate certificates, issuer first; they are embedded.
	Chain []*x509.Certificate
}

func (s *Signer) sign(content []byte, detached bool) ([]byte, error) {
	if s == nil || s.Certificate == nil || s.Key == nil {
		return nil, errors.New("pec: signer without certificate or key")
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("pec: signing: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.Certificate, s.Key, s.Chain, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("pec: signing: %w", err)
	}
	if detached {
		sd.Detach()
	}
	der, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("pec: signing: %w", err)
	}
	return der, nil
}

// SignDetached returns a detached PKCS#7 signature (DER) of content.
func (s *Signer) SignDetached(content []byte) ([]byte, error) { return s.sign(content, true) }

// SignCAdES returns content wrapped in an attached PKCS#7 signature (DER), the
// format of .p7m files.
func (s *Signer) SignCAdES(content []byte) ([]byte, error) { return s.sign(content, false) }

// OpenCAdES returns the content of a .p7m (DER, PEM or base64) and the status of
// its signature against trust (nil: at best untrusted).
func OpenCAdES(data []byte, trust *x509.CertPool) ([]byte, Signature, error) {
	ctx := newCtx(ReadOptions{TrustStore: trust})
	return openCAdES(data, ctx)
}
