package pec

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Under a direct convention (art. 8 of the decree of 5 December 2012) the
// Procura returns certificates encrypted with the requesting Comune's public
// key: CMS enveloped-data, as an attachment (name.pdf.p7m, .p7e,
// application/pkcs7-mime; smime-type=enveloped-data) or as the whole original
// (S/MIME). With a DecryptionKey the reader opens them; without one, or with
// one they are not for, it says so (ProblemEncrypted) and reads on.

// DecryptionKey is the Comune's key pair for encrypted replies. Keys are RSA
// (CMS key transport), the only kind smallstep/pkcs7 opens.
type DecryptionKey struct {
	Certificate *x509.Certificate
	Key         crypto.Decrypter
}

// ParseDecryptionKey parses a PEM private key (PKCS#8 "PRIVATE KEY", PKCS#1
// "RSA PRIVATE KEY") and the PEM certificate that goes with it. keyPEM and
// certPEM may be the same bytes. It fails when the key is not RSA or does
// not match the certificate.
func ParseDecryptionKey(keyPEM, certPEM []byte) (DecryptionKey, error) {
	var dk DecryptionKey
	var key crypto.PrivateKey
	for rest := keyPEM; key == nil; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return dk, errors.New("pec: no PEM private key")
		}
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return dk, fmt.Errorf("pec: %s: an unencrypted RSA key is needed", strings.ToLower(blk.Type))
		}
		if err != nil {
			return dk, fmt.Errorf("pec: private key: %w", err)
		}
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return dk, errors.New("pec: only an RSA key can open CMS enveloped-data")
	}
	for rest := certPEM; dk.Certificate == nil; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return dk, errors.New("pec: no PEM certificate")
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return dk, fmt.Errorf("pec: certificate: %w", err)
		}
		dk.Certificate = c
	}
	if !rk.PublicKey.Equal(dk.Certificate.PublicKey) {
		return dk, errors.New("pec: the private key does not match the certificate")
	}
	dk.Key = rk
	return dk, nil
}

var oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}

// isEnvelopedDER reports whether der is a CMS ContentInfo of enveloped-data.
func isEnvelopedDER(der []byte) bool {
	in := cryptobyte.String(der)
	var ci cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) {
		// BER: an indefinite length; look at the OID that follows.
		if len(der) < 4 || der[0] != 0x30 || der[1] != 0x80 {
			return false
		}
		ci = cryptobyte.String(der[2:])
	}
	return ci.ReadASN1ObjectIdentifier(&oid) && oid.Equal(oidEnvelopedData)
}

// isEncryptedPart reports whether e (decoded as data) is CMS enveloped-data.
func isEncryptedPart(e *entity, name string, data []byte) bool {
	if strings.EqualFold(e.params["smime-type"], "enveloped-data") {
		return true
	}
	if !isP7M(name, e.mediaType) && !strings.HasSuffix(strings.ToLower(name), ".p7e") {
		return false
	}
	der, err := decodeDER(data)
	return err == nil && isEnvelopedDER(der)
}

// errWrongKey reports enveloped-data addressed to none of the keys.
var errWrongKey = errors.New("not encrypted for the configured key")

// decrypt opens enveloped-data with the first key it is addressed to.
func (ctx *readCtx) decrypt(data []byte) ([]byte, error) {
	if len(ctx.keys) == 0 {
		return nil, errors.New("no decryption key configured")
	}
	der, err := decodeDER(data)
	if err != nil {
		return nil, errors.New("malformed enveloped-data: " + err.Error())
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, errors.New("malformed enveloped-data")
	}
	for _, k := range ctx.keys {
		if k.Certificate == nil || k.Key == nil {
			continue
		}
		content, err := p7.Decrypt(k.Certificate, k.Key)
		if err == nil {
			return content, nil
		}
		if !strings.Contains(err.Error(), "no enveloped recipient") {
			return nil, fmt.Errorf("decryption failed: %v", err)
		}
	}
	return nil, errWrongKey
}

// collectEncrypted appends an encrypted attachment and, when it can be
// opened, what it holds: a MIME entity (S/MIME, the message's body) whose
// attachments follow, or a file (name without .p7m/.p7e), itself unwrapped
// when it is a signed .p7m.
func collectEncrypted(e *entity, data []byte, name, container string, body bool, depth int, out *[]Attachment, ctx *readCtx) {
	a := bytesAttachment(data, name, e.mediaType, container, func() (io.Reader, error) {
		return decodeTransfer(e.encoding(), bytes.NewReader(e.body())), nil
	})
	a.Encrypted = true
	content, err := ctx.decrypt(data)
	if err != nil {
		*out = append(*out, a)
		addProblem(&ctx.probs, ProblemEncrypted, "an encrypted part could not be opened: "+err.Error())
		return
	}
	a.Decrypted = true
	*out = append(*out, a)
	if body || looksLikeMIME(content) {
		inner := parseEntity(content, 0, len(content), e.depth+1, &ctx.lim, &ctx.probs)
		e.decrypted = inner
		collectAttachments(inner, name, depth+1, out, ctx)
		return
	}
	inner := trimSuffixFold(trimSuffixFold(name, ".p7e"), ".p7m")
	open := func() (io.Reader, error) { return bytes.NewReader(content), nil }
	if _, err := cadesContent(content); err == nil {
		// signed, then encrypted: the signed file, then what it holds
		signed := inner
		if !isP7M(signed, "") {
			signed += ".p7m"
		}
		*out = append(*out, bytesAttachment(content, signed, "application/pkcs7-mime", name, open))
		unwrapSigned(content, signed, func() ([]byte, error) { return content, nil }, out, ctx)
		return
	}
	*out = append(*out, bytesAttachment(content, inner, contentTypeOf(inner), name, open))
}

func trimSuffixFold(s, suffix string) string {
	if len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)]
	}
	return s
}

// looksLikeMIME reports whether b starts with a MIME header field.
func looksLikeMIME(b []byte) bool {
	head := strings.ToLower(string(b[:min(len(b), 64)]))
	return strings.HasPrefix(head, "content-type:") || strings.HasPrefix(head, "mime-version:") ||
		strings.HasPrefix(head, "content-transfer-encoding:")
}
