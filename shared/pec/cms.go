package pec

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/smallstep/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A fast reader of CMS SignedData (RFC 5652) for the signatures providers
// write: DER, signers named by issuer and serial number. It reads the bytes in
// place (no BER-to-DER copy), takes certificates from a process-wide cache and
// checks each signer's chain once per certificate and validity window. Any
// structure it does not read (BER, other signer identifiers or certificate
// kinds) goes to smallstep/pkcs7, whose verdicts it reproduces:
// TestCMSAgreesWithPKCS7 and FuzzCMS hold the two together.

// errNotFast reports a structure the fast reader leaves to pkcs7.
var errNotFast = errors.New("not read by the fast CMS reader")

type cmsSignedData struct {
	content []byte // eContent; nil when detached
	certs   []*x509.Certificate
	signers []cmsSigner
}

type cmsSigner struct {
	issuer      []byte // DER of the issuer Name
	serial      []byte // content octets of the serial number INTEGER
	digestAlg   asn1.ObjectIdentifier
	signedAttrs []byte // content octets of [0] signedAttrs; nil when absent
	hasAttrs    bool
	sigAlg      asn1.ObjectIdentifier
	signature   []byte
}

// DER contents of the object identifiers compared in place.
var (
	rawOIDSignedData    = mustRawOID(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2})
	rawOIDMessageDigest = mustRawOID(pkcs7.OIDAttributeMessageDigest)
	rawOIDSigningTime   = mustRawOID(pkcs7.OIDAttributeSigningTime)
)

func mustRawOID(oid asn1.ObjectIdentifier) []byte {
	der, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return der[2:]
}

func readOID(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
	var oid asn1.ObjectIdentifier
	return oid, s.ReadASN1ObjectIdentifier(&oid)
}

// readRawOID reads an OBJECT IDENTIFIER's content octets without decoding
// them, refusing what encoding/asn1 refuses (arcs of more than four octets,
// non-minimal arcs).
func readRawOID(s *cryptobyte.String) ([]byte, bool) {
	var oid cryptobyte.String
	if !s.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || len(oid) == 0 || oid[len(oid)-1]&0x80 != 0 {
		return nil, false
	}
	n := 0
	for _, c := range oid {
		if n == 0 && c == 0x80 {
			return nil, false
		}
		n++
		if n > 4 {
			return nil, false
		}
		if c&0x80 == 0 {
			n = 0
		}
	}
	return oid, true
}

// readAlgorithm reads an AlgorithmIdentifier and returns its OID.
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, bool) {
	var alg cryptobyte.String
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) {
		return nil, false
	}
	return readOID(&alg)
}

// parseCMSFast reads SignedData: DER in place, BER once made definite.
func parseCMSFast(der []byte) (*cmsSignedData, error) {
	sd, err := parseCMSDER(der)
	if err == nil || !hasIndefiniteLength(der) {
		return sd, err
	}
	definite, err := berToDER(der)
	if err != nil {
		return nil, errNotFast
	}
	return parseCMSDER(definite)
}

// parseCMSDER reads DER SignedData.
func parseCMSDER(der []byte) (*cmsSignedData, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errNotFast
	}
	ct, ok := readRawOID(&ci)
	if !ok || !bytes.Equal(ct, rawOIDSignedData) {
		return nil, errNotFast
	}
	var explicit cryptobyte.String
	if !ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() ||
		!explicit.ReadASN1(&sd, cbasn1.SEQUENCE) || !explicit.Empty() {
		return nil, errNotFast
	}
	out := &cmsSignedData{}
	var version int64
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errNotFast
	}
	for !digestAlgs.Empty() {
		var alg cryptobyte.String
		if !digestAlgs.ReadASN1(&alg, cbasn1.SEQUENCE) {
			return nil, errNotFast
		}
		if _, ok := readOID(&alg); !ok {
			return nil, errNotFast
		}
	}
	if _, ok := readOID(&encap); !ok {
		return nil, errNotFast
	}
	if encap.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var ec, os cryptobyte.String
		if !encap.ReadASN1(&ec, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, errNotFast
		}
		switch {
		case ec.PeekASN1Tag(cbasn1.OCTET_STRING):
			if !ec.ReadASN1(&os, cbasn1.OCTET_STRING) || !ec.Empty() {
				return nil, errNotFast
			}
			out.content = os
		case ec.PeekASN1Tag(cbasn1.OCTET_STRING.Constructed()):
			// BER in chunks: their contents joined, one level deep as pkcs7 does
			if !ec.ReadASN1(&os, cbasn1.OCTET_STRING.Constructed()) || !ec.Empty() {
				return nil, errNotFast
			}
			joined := []byte{}
			for !os.Empty() {
				var chunk cryptobyte.String
				var tag cbasn1.Tag
				if !os.ReadAnyASN1(&chunk, &tag) {
					return nil, errNotFast
				}
				joined = append(joined, chunk...)
			}
			out.content = joined
		default:
			return nil, errNotFast
		}
	}
	if !encap.Empty() {
		return nil, errNotFast
	}
	if sd.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var certs cryptobyte.String
		if !sd.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return nil, errNotFast
		}
		for !certs.Empty() {
			var raw cryptobyte.String
			if !certs.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
				return nil, errNotFast // attribute certificates and the like
			}
			c, err := cachedCertificate(raw)
			if err != nil {
				return nil, errNotFast // pkcs7 gives the error
			}
			out.certs = append(out.certs, c)
		}
	}
	if sd.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		if !sd.SkipASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return nil, errNotFast
		}
	}
	var infos cryptobyte.String
	if !sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() {
		return nil, errNotFast
	}
	for !infos.Empty() {
		var si, sid cryptobyte.String
		var v int64
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) || !si.ReadASN1Integer(&v) || !si.ReadASN1(&sid, cbasn1.SEQUENCE) {
			return nil, errNotFast // a subject key identifier names the signer
		}
		var s cmsSigner
		var issuer, serial cryptobyte.String
		if !sid.ReadASN1Element(&issuer, cbasn1.SEQUENCE) || !sid.ReadASN1(&serial, cbasn1.INTEGER) || !sid.Empty() || len(serial) == 0 {
			return nil, errNotFast
		}
		s.issuer, s.serial = issuer, serial
		if s.digestAlg, ok = readAlgorithm(&si); !ok {
			return nil, errNotFast
		}
		if si.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
			var attrs cryptobyte.String
			if !si.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
				return nil, errNotFast
			}
			if !validAttributes(attrs) {
				return nil, errNotFast
			}
			s.signedAttrs, s.hasAttrs = attrs, len(attrs) > 0
		}
		if s.sigAlg, ok = readAlgorithm(&si); !ok {
			return nil, errNotFast
		}
		var sig cryptobyte.String
		if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
			return nil, errNotFast
		}
		s.signature = sig
		if si.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
			var un cryptobyte.String
			if !si.ReadASN1(&un, cbasn1.Tag(1).Constructed().ContextSpecific()) || !validAttributes(un) {
				return nil, errNotFast
			}
		}
		if !si.Empty() {
			return nil, errNotFast
		}
		out.signers = append(out.signers, s)
	}
	return out, nil
}

// validAttributes checks a SET OF Attribute's content: SEQUENCE { OID, SET }.
func validAttributes(attrs cryptobyte.String) bool {
	for !attrs.Empty() {
		var a, set cryptobyte.String
		if !attrs.ReadASN1(&a, cbasn1.SEQUENCE) {
			return false
		}
		if _, ok := readRawOID(&a); !ok || !a.ReadASN1(&set, cbasn1.SET) || !a.Empty() {
			return false
		}
	}
	return true
}

// certFor finds the signer's certificate by issuer and serial number.
func (sd *cmsSignedData) certFor(s *cmsSigner) *x509.Certificate {
	for _, c := range sd.certs {
		if bytes.Equal(c.RawIssuer, s.issuer) && bytes.Equal(serialBytes(c), s.serial) {
			return c
		}
	}
	return nil
}

// serialBytes returns the INTEGER content octets of c's serial number, as
// written in the certificate.
func serialBytes(c *x509.Certificate) []byte {
	in := cryptobyte.String(c.RawTBSCertificate)
	var tbs cryptobyte.String
	if !in.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil
	}
	if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) && !tbs.SkipASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil
	}
	var serial cryptobyte.String
	if !tbs.ReadASN1(&serial, cbasn1.INTEGER) {
		return nil
	}
	return serial
}

// firstSigner returns what the reader reports of the first signer: its
// certificate (by issuer and serial when it is the only signer, else by
// serial alone) and its signing time.
func (sd *cmsSignedData) firstSigner() (*x509.Certificate, time.Time) {
	s := &sd.signers[0]
	var cert *x509.Certificate
	if len(sd.signers) == 1 {
		cert = sd.certFor(s)
	} else {
		for _, c := range sd.certs {
			if bytes.Equal(serialBytes(c), s.serial) {
				cert = c
				break
			}
		}
	}
	var st time.Time
	if v, ok := s.attribute(rawOIDSigningTime); ok {
		if _, err := asn1.Unmarshal(v, &st); err != nil {
			st = time.Time{}
		}
	}
	return cert, st
}

// attribute returns the first value of the signed attribute oid (its whole
// encoding), as pkcs7 reads it.
func (s *cmsSigner) attribute(oid []byte) ([]byte, bool) {
	attrs := cryptobyte.String(s.signedAttrs)
	for !attrs.Empty() {
		var a, set cryptobyte.String
		if !attrs.ReadASN1(&a, cbasn1.SEQUENCE) {
			return nil, false
		}
		t, ok := readRawOID(&a)
		if !ok || !a.ReadASN1(&set, cbasn1.SET) {
			return nil, false
		}
		if bytes.Equal(t, oid) {
			return set, true
		}
	}
	return nil, false
}

// signedAttrsDER is what the signer signed: the attributes as a DER SET, in
// DER order (pkcs7 and OpenSSL both encode them again so).
func (s *cmsSigner) signedAttrsDER() ([]byte, error) {
	var elems [][]byte
	attrs := cryptobyte.String(s.signedAttrs)
	for !attrs.Empty() {
		var e cryptobyte.String
		if !attrs.ReadASN1Element(&e, cbasn1.SEQUENCE) {
			return nil, errors.New("malformed signed attributes")
		}
		elems = append(elems, e)
	}
	if !sort.SliceIsSorted(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 }) {
		sort.SliceStable(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 })
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// verifyFast checks every signer of sd over content, as pkcs7's Verify does,
// and returns the first signer's certificate and signing time.
func verifyFast(sd *cmsSignedData, content []byte, digests *digestMemo) (*x509.Certificate, time.Time, error) {
	if len(sd.signers) == 0 {
		return nil, time.Time{}, errors.New("pkcs7: Message has no signers")
	}
	first, firstTime := sd.firstSigner()
	for i := range sd.signers {
		s := &sd.signers[i]
		ee := sd.certFor(s)
		if ee == nil {
			return first, firstTime, errors.New("pkcs7: No certificate for signer")
		}
		signed := content
		if s.hasAttrs {
			v, ok := s.attribute(rawOIDMessageDigest)
			if !ok {
				return first, firstTime, errors.New("pkcs7: attribute type not in attributes")
			}
			var digest []byte
			if _, err := asn1.Unmarshal(v, &digest); err != nil {
				return first, firstTime, err
			}
			h, err := hashForOID(s.digestAlg)
			if err != nil {
				return first, firstTime, err
			}
			computed := digests.sum(h, content)
			if subtle.ConstantTimeCompare(digest, computed) != 1 {
				return first, firstTime, &pkcs7.MessageDigestMismatchError{ExpectedDigest: digest, ActualDigest: computed}
			}
			if signed, err = s.signedAttrsDER(); err != nil {
				return first, firstTime, err
			}
			if v, ok := s.attribute(rawOIDSigningTime); ok {
				var st time.Time
				if _, err := asn1.Unmarshal(v, &st); err == nil && (st.After(ee.NotAfter) || st.Before(ee.NotBefore)) {
					return first, firstTime, &pkcs7.SigningTimeNotValidError{SigningTime: st, NotBefore: ee.NotBefore, NotAfter: ee.NotAfter}
				}
			}
		}
		alg, err := signatureAlgorithm(s.sigAlg, s.digestAlg)
		if err != nil {
			return first, firstTime, err
		}
		if err := ee.CheckSignature(alg, signed, s.signature); err != nil {
			return first, firstTime, err
		}
	}
	return first, firstTime, nil
}

// digestMemo keeps the digests of one content, so that several signers (and
// the attachment hash) share them.
type digestMemo struct {
	sums map[crypto.Hash][]byte
}

func (d *digestMemo) sum(h crypto.Hash, content []byte) []byte {
	if s, ok := d.sums[h]; ok {
		return s
	}
	w := h.New()
	w.Write(content)
	s := w.Sum(nil)
	if d.sums == nil {
		d.sums = map[crypto.Hash][]byte{}
	}
	d.sums[h] = s
	return s
}

// hashForOID is pkcs7's mapping of a signer's digest algorithm.
func hashForOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA1), oid.Equal(pkcs7.OIDDigestAlgorithmECDSASHA1),
		oid.Equal(pkcs7.OIDDigestAlgorithmDSA), oid.Equal(pkcs7.OIDDigestAlgorithmDSASHA1),
		oid.Equal(pkcs7.OIDEncryptionAlgorithmRSA):
		return crypto.SHA1, nil
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA256), oid.Equal(pkcs7.OIDDigestAlgorithmECDSASHA256):
		return crypto.SHA256, nil
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA384), oid.Equal(pkcs7.OIDDigestAlgorithmECDSASHA384):
		return crypto.SHA384, nil
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA512), oid.Equal(pkcs7.OIDDigestAlgorithmECDSASHA512):
		return crypto.SHA512, nil
	}
	return 0, pkcs7.ErrUnsupportedAlgorithm
}

// signatureAlgorithm is pkcs7's mapping of a signer's algorithms.
func signatureAlgorithm(sig, digest asn1.ObjectIdentifier) (x509.SignatureAlgorithm, error) {
	byDigest := func(sha1, sha256, sha384, sha512 x509.SignatureAlgorithm, rsaOIDs bool) (x509.SignatureAlgorithm, error) {
		switch {
		case digest.Equal(pkcs7.OIDDigestAlgorithmSHA1), rsaOIDs && digest.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA1):
			return sha1, nil
		case digest.Equal(pkcs7.OIDDigestAlgorithmSHA256), rsaOIDs && digest.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA256):
			return sha256, nil
		case digest.Equal(pkcs7.OIDDigestAlgorithmSHA384) && sha384 != x509.UnknownSignatureAlgorithm, rsaOIDs && digest.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA384):
			return sha384, nil
		case digest.Equal(pkcs7.OIDDigestAlgorithmSHA512) && sha512 != x509.UnknownSignatureAlgorithm, rsaOIDs && digest.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA512):
			return sha512, nil
		}
		return -1, fmt.Errorf("pkcs7: unsupported digest %q for encryption algorithm %q", digest.String(), sig.String())
	}
	switch {
	case sig.Equal(pkcs7.OIDDigestAlgorithmECDSASHA1):
		return x509.ECDSAWithSHA1, nil
	case sig.Equal(pkcs7.OIDDigestAlgorithmECDSASHA256):
		return x509.ECDSAWithSHA256, nil
	case sig.Equal(pkcs7.OIDDigestAlgorithmECDSASHA384):
		return x509.ECDSAWithSHA384, nil
	case sig.Equal(pkcs7.OIDDigestAlgorithmECDSASHA512):
		return x509.ECDSAWithSHA512, nil
	case sig.Equal(pkcs7.OIDEncryptionAlgorithmRSA), sig.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA1),
		sig.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA256), sig.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA384),
		sig.Equal(pkcs7.OIDEncryptionAlgorithmRSASHA512):
		return byDigest(x509.SHA1WithRSA, x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA, true)
	case sig.Equal(pkcs7.OIDDigestAlgorithmDSA), sig.Equal(pkcs7.OIDDigestAlgorithmDSASHA1):
		return byDigest(x509.DSAWithSHA1, x509.DSAWithSHA256, x509.UnknownSignatureAlgorithm, x509.UnknownSignatureAlgorithm, false)
	case sig.Equal(pkcs7.OIDEncryptionAlgorithmECDSAP256), sig.Equal(pkcs7.OIDEncryptionAlgorithmECDSAP384),
		sig.Equal(pkcs7.OIDEncryptionAlgorithmECDSAP521):
		return byDigest(x509.ECDSAWithSHA1, x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, false)
	}
	return -1, fmt.Errorf("pkcs7: unsupported algorithm %q", sig.String())
}
