package pec

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"os"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// LoadTrustStore reads a PEM file of provider (or CA) certificates, as published
// by AgID, into a pool for ReadOptions.TrustStore.
func LoadTrustStore(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pec: reading trust store: %w", err)
	}
	return ParseTrustStore(b)
}

// ParseTrustStore parses PEM certificates into a pool. It fails when the data
// holds no certificate or a certificate that cannot be parsed.
func ParseTrustStore(pemData []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemData; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pec: trust store certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("pec: trust store holds no PEM certificate")
	}
	return pool, nil
}

func isDetachedSig(mt string) bool {
	return mt == "application/pkcs7-signature" || mt == "application/x-pkcs7-signature"
}

func isOpaqueSigned(e *entity) bool {
	if e.mediaType != "application/pkcs7-mime" && e.mediaType != "application/x-pkcs7-mime" {
		return false
	}
	st := strings.ToLower(e.params["smime-type"])
	return st == "signed-data" || st == ""
}

// canonicalCRLF returns b with every bare LF turned into CRLF; b itself when it
// has none (no copy).
func canonicalCRLF(b []byte) []byte {
	bare := 0
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			bare++
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if bare == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bare)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			break
		}
		out = append(out, b[:i]...)
		if i == 0 || b[i-1] != '\r' {
			out = append(out, '\r')
		}
		out = append(out, '\n')
		b = b[i+1:]
	}
	return out
}

// decodeDER returns the DER of a PKCS#7 object given as DER, PEM or base64 text.
func decodeDER(data []byte) ([]byte, error) {
	if len(data) > 0 && data[0] == 0x30 {
		return data, nil // DER: never trim, its last bytes may look like white space
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	if blk, _ := pem.Decode(data); blk != nil {
		return blk.Bytes, nil
	}
	d, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, &base64Cleaner{r: bytes.NewReader(data)}))
	if err != nil || len(d) == 0 || d[0] != 0x30 {
		return nil, errors.New("neither DER nor base64 of DER")
	}
	return d, nil
}

// cadesContent returns the content of an attached-signature PKCS#7 (a .p7m file).
func cadesContent(data []byte) ([]byte, error) {
	der, err := decodeDER(data)
	if err != nil {
		return nil, err
	}
	if sd, err := parseCMSFast(der); err == nil {
		return sd.content, nil
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, err
	}
	return p7.Content, nil
}

// openCAdES unwraps and verifies an attached-signature PKCS#7 (a .p7m file).
func openCAdES(data []byte, ctx *readCtx) ([]byte, Signature, error) {
	content, sig, _, err := openCAdESMemo(data, ctx)
	return content, sig, err
}

// openCAdESMemo is openCAdES that also returns the digests it computed over
// the content (the SHA-256 is the unwrapped attachment's hash).
func openCAdESMemo(data []byte, ctx *readCtx) ([]byte, Signature, *digestMemo, error) {
	der, err := decodeDER(data)
	if err != nil {
		return nil, Signature{}, nil, err
	}
	memo := &digestMemo{}
	if sd, err := parseCMSFast(der); err == nil {
		if len(sd.content) == 0 {
			return nil, Signature{}, nil, errors.New("the PKCS#7 has no content (detached signature)")
		}
		return sd.content, ctx.checkFast(sd, sd.content, memo), memo, nil
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, Signature{}, nil, fmt.Errorf("malformed PKCS#7: %v", err)
	}
	if len(p7.Content) == 0 {
		return nil, Signature{}, nil, errors.New("the PKCS#7 has no content (detached signature)")
	}
	return p7.Content, ctx.verifyP7(p7), nil, nil
}

// verifyDetached verifies the signature part sig of a multipart/signed over the
// exact bytes of its first part.
func (ctx *readCtx) verifyDetached(sig *entity, signed []byte, memo *digestMemo) Signature {
	b64, err := ctx.decodeAll(sig)
	if err != nil {
		return Signature{Status: SignatureInvalid, Reason: "signature part is not valid " + encName(sig.encoding()) + " data"}
	}
	if len(bytes.TrimSpace(b64)) == 0 {
		return Signature{Status: SignatureInvalid, Reason: "signature part is empty"}
	}
	der, err := decodeDER(b64)
	if err != nil {
		return Signature{Status: SignatureInvalid, Reason: "signature part: " + err.Error()}
	}
	if sd, err := parseCMSFast(der); err == nil {
		return ctx.checkFast(sd, canonicalCRLF(signed), memo)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return Signature{Status: SignatureInvalid, Reason: "malformed PKCS#7 signature: " + err.Error()}
	}
	p7.Content = canonicalCRLF(signed)
	return ctx.verifyP7(p7)
}

func encName(enc string) string {
	if enc == "" {
		return "7bit"
	}
	return enc
}

// checkFast checks a SignedData read by the fast reader.
func (ctx *readCtx) checkFast(sd *cmsSignedData, content []byte, memo *digestMemo) Signature {
	if len(sd.signers) == 0 {
		return Signature{Status: SignatureInvalid, Reason: "PKCS#7 without signer"}
	}
	cert, st, err := verifyFast(sd, content, memo)
	s := Signature{Certificate: cert, SigningTime: st}
	if cert != nil {
		s.Signer = signerName(cert)
	}
	if err != nil {
		s.Status, s.Reason = SignatureInvalid, failureReason(err, cert)
		return s
	}
	return ctx.checkChain(s, cert, sd.certs)
}

// verifyP7 checks a parsed PKCS#7 whose Content is set.
func (ctx *readCtx) verifyP7(p7 *pkcs7.PKCS7) Signature {
	if len(p7.Signers) == 0 {
		return Signature{Status: SignatureInvalid, Reason: "PKCS#7 without signer"}
	}
	cert := p7.GetOnlySigner()
	if cert == nil {
		sn := p7.Signers[0].IssuerAndSerialNumber.SerialNumber
		for _, c := range p7.Certificates {
			if sn != nil && c.SerialNumber.Cmp(sn) == 0 {
				cert = c
				break
			}
		}
	}
	s := Signature{Certificate: cert}
	if cert != nil {
		s.Signer = cert.Subject.String()
	}
	var st time.Time
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &st); err == nil {
		s.SigningTime = st
	}
	if err := p7.Verify(); err != nil {
		s.Status, s.Reason = SignatureInvalid, failureReason(err, cert)
		return s
	}
	certs := make([]*x509.Certificate, len(p7.Certificates))
	for i, c := range p7.Certificates {
		certs[i] = canonicalCertificate(c)
	}
	if cert != nil {
		cert = canonicalCertificate(cert)
	}
	return ctx.checkChain(s, cert, certs)
}

func failureReason(err error, cert *x509.Certificate) string {
	var dm *pkcs7.MessageDigestMismatchError
	var tm *pkcs7.SigningTimeNotValidError
	switch {
	case errors.As(err, &dm):
		return "digest mismatch: the signed content was altered"
	case errors.As(err, &tm):
		return "signing time outside the signer certificate's validity"
	case cert == nil:
		return "signer certificate not included"
	}
	return "signature mismatch: " + err.Error()
}

// checkChain completes s, whose signature is right: valid when cert chains to
// the trust store at the signing time (else the daticert time, else now).
func (ctx *readCtx) checkChain(s Signature, cert *x509.Certificate, certs []*x509.Certificate) Signature {
	at := s.SigningTime
	if at.IsZero() {
		at = ctx.fallbackTime
	}
	if at.IsZero() {
		at = ctx.now()
	}
	s.CheckedAt = at
	if cert == nil {
		s.Status, s.Reason = SignatureInvalid, "signer certificate not included"
		return s
	}
	if ctx.trust == nil {
		s.Status, s.Reason = SignatureUntrusted, "no trust store configured"
		return s
	}
	others := make([]*x509.Certificate, 0, len(certs))
	for _, c := range certs {
		if c != cert {
			others = append(others, c)
		}
	}
	if err := verifyChain(cert, others, ctx.trust, at); err != nil {
		s.Status, s.Reason = SignatureUntrusted, "signer does not chain to the trust store at "+at.UTC().Format(time.RFC3339)+": "+err.Error()
		return s
	}
	s.Status = SignatureValid
	return s
}
