package pec

import (
	"crypto"
	"crypto/sha256"
)

// signedView is a message seen through its S/MIME signature: the content the
// provider signed, and what is needed to check the signature.
type signedView struct {
	content *entity // the signed content, else the message itself
	sig     *entity // the detached signature part, nil when none
	signed  bool    // multipart/signed or opaque signed-data
	// opaque is the outcome of opening opaque signed-data, already checked.
	opaque Signature
	// digest, for a large detached-signed content, is its SHA-256 being
	// computed on another core while the rest of the message is read.
	digest *earlyDigest
}

type earlyDigest struct {
	done  chan struct{}
	canon []byte // the content with CRLF line ends, as the signature covers it
	sum   []byte
}

// earlyDigestMin is the content size from which the SHA-256 a detached
// signature needs is computed beside the reading: below it the goroutine
// costs more than it saves.
const earlyDigestMin = 64 << 10

// startDigest hashes the canonical content in the background. The content's
// bytes are the message's own and never change while it is read.
func (v *signedView) startDigest() {
	content := v.content.raw()
	if v.sig == nil || len(content) < earlyDigestMin {
		return
	}
	d := &earlyDigest{done: make(chan struct{})}
	v.digest = d
	go func() {
		d.canon = canonicalCRLF(content)
		sum := sha256.Sum256(d.canon)
		d.sum = sum[:]
		close(d.done)
	}()
}

// openSigned locates the signed content of msg. Opaque signed-data is decoded
// and checked here, as its content is inside the signature.
func openSigned(msg *entity, ctx *readCtx) signedView {
	v := signedView{content: msg}
	switch {
	case msg.mediaType == "multipart/signed":
		v.signed = true
		if len(msg.children) > 0 {
			v.content = msg.children[0]
		}
		if len(msg.children) > 1 && isDetachedSig(msg.children[1].mediaType) {
			v.sig = msg.children[1]
			v.startDigest()
		} else {
			addProblem(&ctx.probs, ProblemSignature, "multipart/signed without its signature part")
		}
	case isOpaqueSigned(msg):
		v.signed = true
		data, err := ctx.decodeAll(msg)
		if err != nil {
			v.opaque = Signature{Status: SignatureInvalid, Reason: "signed content is not valid " + encName(msg.encoding()) + " data"}
			break
		}
		inner, sig, err := openCAdES(data, ctx)
		if err != nil {
			v.opaque = Signature{Status: SignatureInvalid, Reason: err.Error()}
			break
		}
		v.opaque = sig
		v.content = parseEntity(inner, 0, len(inner), msg.depth+1, &ctx.lim, &ctx.probs)
	}
	return v
}

// verify checks the signature; last, as it may use the daticert time.
func (v signedView) verify(ctx *readCtx) Signature {
	switch {
	case v.sig != nil:
		memo, signed := &digestMemo{}, v.content.raw()
		if v.digest != nil {
			<-v.digest.done
			memo.sums = map[crypto.Hash][]byte{crypto.SHA256: v.digest.sum}
			signed = v.digest.canon // already canonical: not copied again
		}
		return ctx.verifyDetached(v.sig, signed, memo)
	case v.opaque.Status != "":
		return v.opaque
	}
	s := Signature{Status: SignatureAbsent}
	if v.signed {
		s.Reason = "signature part missing (truncated message?)"
	}
	return s
}

// readMail reads msg as ordinary mail (or an SMTP delivery status notification).
func readMail(m *Message, msg *entity, sv signedView, ctx *readCtx) {
	h := msg.header
	m.Format, m.Kind = "mail", KindNonPEC
	m.MessageID = h.MessageID("Message-ID")
	m.Time = parseDate(h.Get("Date"))
	m.SecurityWarning = securityWarning(h, ctx)
	if f := h.Addresses("From"); len(f) > 0 {
		m.Sender = f[0]
	}
	for _, k := range []string{"To", "Cc"} {
		for _, a := range h.Addresses(k) {
			m.Recipients = append(m.Recipients, Recipient{Address: a})
		}
	}
	if r := h.Addresses("Reply-To"); len(r) > 0 {
		m.ReplyTo = r[0]
	}
	m.Subject = h.Text("Subject")
	m.RefMessageID = h.MessageID("X-Riferimento-Message-ID")
	m.Original = newPart(msg, ctx)
	m.DeliveryStatus = isDSN(msg)
	m.Signature = sv.verify(ctx)
}

func securityWarning(h Header, ctx *readCtx) bool {
	if v := h.Get("X-VerificaSicurezza"); v != "" && equalFoldTrim(v, "errore") {
		addProblem(&ctx.probs, ProblemSecurityWarning, "X-VerificaSicurezza: errore")
		return true
	}
	return false
}
