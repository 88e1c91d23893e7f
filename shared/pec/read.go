package pec

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"
)

// Default limits of ReadOptions.
const (
	DefaultMaxSize         = 64 << 20 // PEC providers cap messages at about 30 MB (RFC 6109 example)
	DefaultMaxDepth        = 16
	DefaultMaxParts        = 2000
	DefaultMaxHeaderBytes  = 256 << 10
	DefaultMaxHeaderFields = 1000
)

// ErrNotMessage is returned when the input is not an e-mail message at all.
var ErrNotMessage = errors.New("pec: input is not an e-mail message")

// ErrTooLarge is returned when the input is larger than ReadOptions.MaxSize.
var ErrTooLarge = errors.New("pec: message larger than the size limit")

// ReadOptions configure Read and Parse. The zero value is usable: no trust store
// (signatures are at best untrusted) and the default limits.
type ReadOptions struct {
	// TrustStore holds the providers' certificates (or their CAs); nil means that
	// no signature can be valid.
	TrustStore *x509.CertPool
	// Now is the clock used when a signature has no signingTime and the message
	// no daticert time; nil means time.Now.
	Now func() time.Time

	MaxSize         int64 // bytes of the whole message; 0 means DefaultMaxSize
	MaxDepth        int   // MIME nesting; 0 means DefaultMaxDepth
	MaxParts        int   // MIME parts; 0 means DefaultMaxParts
	MaxHeaderBytes  int   // bytes of one header block; 0 means DefaultMaxHeaderBytes
	MaxHeaderFields int   // fields of one header block; 0 means DefaultMaxHeaderFields
}

type readCtx struct {
	lim          limits
	probs        []Problem
	trust        *x509.CertPool
	now          func() time.Time
	fallbackTime time.Time
	buf          []byte
}

func (ctx *readCtx) copyBuf() []byte {
	if ctx.buf == nil {
		ctx.buf = make([]byte, 32<<10)
	}
	return ctx.buf
}

func newCtx(o ReadOptions) *readCtx {
	ctx := &readCtx{trust: o.TrustStore, now: o.Now}
	if ctx.now == nil {
		ctx.now = time.Now
	}
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	ctx.lim = limits{
		maxDepth:        def(o.MaxDepth, DefaultMaxDepth),
		maxParts:        def(o.MaxParts, DefaultMaxParts),
		maxHeaderBytes:  def(o.MaxHeaderBytes, DefaultMaxHeaderBytes),
		maxHeaderFields: def(o.MaxHeaderFields, DefaultMaxHeaderFields),
	}
	return ctx
}

func (o ReadOptions) maxSize() int64 {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

// Read reads a whole message from r (at most MaxSize bytes) and parses it.
// The bytes are read once and kept: see Parse.
func Read(r io.Reader, opts ReadOptions) (*Message, error) {
	max := opts.maxSize()
	hint := int64(0)
	switch v := r.(type) {
	case interface{ Len() int }:
		hint = int64(v.Len())
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			hint = fi.Size()
		}
	}
	if hint > max {
		return nil, ErrTooLarge
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint+bytes.MinRead))
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("pec: reading message: %w", err)
	}
	if n > max {
		return nil, ErrTooLarge
	}
	return Parse(buf.Bytes(), opts)
}

// Parse reads the message in raw. raw is kept by the Message (Raw, attachment
// contents) and must not be modified afterwards. It fails only when raw is not an
// e-mail message (ErrNotMessage) or is too large (ErrTooLarge); every other defect
// is listed in Message.Problems.
func Parse(raw []byte, opts ReadOptions) (*Message, error) {
	if int64(len(raw)) > opts.maxSize() {
		return nil, ErrTooLarge
	}
	ctx := newCtx(opts)
	root := parseEntity(raw, 0, len(raw), 0, &ctx.lim, &ctx.probs)
	if !looksLikeMessage(root.header) {
		return nil, ErrNotMessage
	}
	m := &Message{raw: raw, root: root, Header: root.header}
	m.classify(ctx)
	m.Problems = ctx.probs
	return m, nil
}

var mailFields = []string{
	"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
	"Received", "Return-Path", "Delivered-To", "X-Ricevuta", "X-Trasporto", "Sender", "Reply-To",
}

func looksLikeMessage(h Header) bool {
	for _, k := range mailFields {
		if h.Has(k) {
			return true
		}
	}
	return false
}

// providerPrefixes are the subject prefixes that providers put before the
// original subject, longest first.
var providerPrefixes = []string{
	"AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ",
	"AVVISO DI MANCATA CONSEGNA PER VIRUS: ",
	"AVVISO DI NON ACCETTAZIONE PER VIRUS: ",
	"AVVISO DI NON ACCETTAZIONE PER ECCEZIONE FORMALE: ",
	"AVVISO DI MANCATA CONSEGNA: ",
	"AVVISO DI NON ACCETTAZIONE: ",
	"AVVISO DI RILEVAZIONE VIRUS: ",
	"PROBLEMA DI SICUREZZA: ",
	"ANOMALIA MESSAGGIO: ",
	"POSTA CERTIFICATA: ",
	"PRESA IN CARICO: ",
	"ACCETTAZIONE: ",
	"CONSEGNA: ",
}

// StripSubjectPrefix removes the provider's prefix (ACCETTAZIONE: , POSTA
// CERTIFICATA: , ...) from a subject, once.
func StripSubjectPrefix(s string) string {
	for _, p := range providerPrefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):]
		}
	}
	return s
}

func parseDate(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// classify fills m from its MIME tree.
func (m *Message) classify(ctx *readCtx) {
	h := m.Header
	m.MessageID = h.MessageID("Message-ID")
	m.Time = parseDate(h.Get("Date"))

	// The content: the signed part of a multipart/signed, the content of an
	// opaque signed message, or the message itself.
	content := m.root
	var sigEntity *entity
	signed := false
	switch {
	case m.root.mediaType == "multipart/signed":
		signed = true
		if len(m.root.children) > 0 {
			content = m.root.children[0]
		}
		if len(m.root.children) > 1 && isDetachedSig(m.root.children[1].mediaType) {
			sigEntity = m.root.children[1]
		} else {
			addProblem(&ctx.probs, ProblemSignature, "multipart/signed without its signature part")
		}
	case isOpaqueSigned(m.root):
		signed = true
	}

	// Kind from the headers.
	kind := Kind("")
	ricevuta := strings.ToLower(strings.TrimSpace(h.Get("X-Ricevuta")))
	trasporto := strings.ToLower(strings.TrimSpace(h.Get("X-Trasporto")))
	switch {
	case ricevuta != "":
		if k := Kind(ricevuta); k.IsReceipt() {
			kind = k
		} else {
			addProblem(&ctx.probs, ProblemUnknownKind, "unknown X-Ricevuta value")
		}
	case trasporto == "posta-certificata":
		kind = KindPostaCertificata
	case trasporto == "errore":
		kind = KindAnomalia
	case trasporto != "":
		addProblem(&ctx.probs, ProblemUnknownKind, "unknown X-Trasporto value")
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("X-VerificaSicurezza")), "errore") {
		m.SecurityWarning = true
		addProblem(&ctx.probs, ProblemSecurityWarning, "X-VerificaSicurezza: errore")
	}

	var opaqueErr Signature
	if isOpaqueSigned(m.root) {
		// Opaque signed: decode and verify first, the content is inside.
		data, err := io.ReadAll(decodeTransfer(m.root.encoding(), bytes.NewReader(m.root.body())))
		if err != nil {
			opaqueErr = Signature{Status: SignatureInvalid, Reason: "signed content is not valid " + encName(m.root.encoding()) + " data"}
		} else if inner, sig, err := openCAdES(data, ctx); err != nil {
			opaqueErr = Signature{Status: SignatureInvalid, Reason: err.Error()}
		} else {
			m.Signature = sig
			content = parseEntity(inner, 0, len(inner), 1, &ctx.lim, &ctx.probs)
		}
	}

	// daticert.xml and postacert.eml
	dati, post := findPECParts(content, 0)
	if dati != nil {
		data, err := io.ReadAll(io.LimitReader(decodeTransfer(dati.encoding(), bytes.NewReader(dati.body())), MaxDaticertSize+1))
		if err != nil {
			addProblem(&ctx.probs, ProblemEncoding, "daticert.xml with invalid "+encName(dati.encoding())+" data")
		}
		d, warns, perr := ParseDaticert(data)
		if perr != nil {
			addProblem(&ctx.probs, ProblemDaticert, perr.Error())
		} else {
			m.Daticert = d
			for _, w := range warns {
				addProblem(&ctx.probs, ProblemDaticert, w)
			}
		}
	}
	d := m.Daticert

	// Kind: daticert tipo is inside the signature, the headers are not; a
	// conflict is reported and the daticert wins.
	if d != nil && d.Tipo.daticertKind() {
		if kind != "" && kind != d.Tipo {
			addProblem(&ctx.probs, ProblemConflict, fmt.Sprintf("header says %s, daticert.xml says %s", kind, d.Tipo))
		}
		if kind == "" {
			addProblem(&ctx.probs, ProblemConflict, "daticert.xml says "+string(d.Tipo)+" but the PEC headers are missing")
		}
		if kind != KindAnomalia || d.Tipo != KindPostaCertificata {
			kind = d.Tipo
		}
	}
	if kind == "" {
		kind = KindNonPEC
	}
	m.Kind = kind
	if kind.IsPEC() && kind != KindAnomalia && d == nil {
		addProblem(&ctx.probs, ProblemNoDaticert, "PEC message without daticert.xml")
	}
	if !signed && kind.IsPEC() && kind != KindAnomalia {
		addProblem(&ctx.probs, ProblemSignature, "PEC message not signed")
	}

	// Receipt type.
	hdrType := ReceiptType(strings.ToLower(strings.TrimSpace(h.Get("X-TipoRicevuta"))))
	if d != nil && d.Ricevuta != "" {
		m.ReceiptType = d.Ricevuta
		if hdrType != "" && hdrType != d.Ricevuta {
			addProblem(&ctx.probs, ProblemConflict, fmt.Sprintf("X-TipoRicevuta says %s, daticert.xml says %s", hdrType, d.Ricevuta))
		}
	} else if kind.IsPEC() && hdrType.Valid() {
		m.ReceiptType = hdrType
	}

	// Reference to the original.
	hdrRef := h.MessageID("X-Riferimento-Message-ID")
	m.RefMessageID = hdrRef
	if d != nil && d.MsgID != "" {
		dref := normalizeMsgID(d.MsgID)
		if hdrRef != "" && hdrRef != dref {
			addProblem(&ctx.probs, ProblemConflict, "X-Riferimento-Message-ID "+hdrRef+" differs from daticert.xml msgid "+dref)
		}
		m.RefMessageID = dref
	}

	// Certified data, else headers.
	if d != nil {
		m.PECID, m.Error, m.ErrorDetail = d.Identificativo, d.Errore, d.ErroreEsteso
		m.Sender, m.Recipients, m.ReplyTo = d.Mittente, d.Destinatari, d.Risposte
		m.Subject, m.Issuer, m.DeliveredTo = d.Oggetto, d.GestoreEmittente, d.Consegna
		if !d.Time.IsZero() {
			m.Time = d.Time
		}
		if hs := StripSubjectPrefix(h.Text("Subject")); hs != "" && d.Oggetto != "" && hs != d.Oggetto && StripSubjectPrefix(d.Oggetto) != hs {
			addProblem(&ctx.probs, ProblemConflict, "Subject header differs from daticert.xml oggetto")
		}
	} else {
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
		if kind.IsPEC() {
			m.Subject = StripSubjectPrefix(m.Subject)
		}
	}

	// The original.
	switch {
	case kind == KindNonPEC:
		m.Original = newPart(m.root, ctx)
		m.DeliveryStatus = isDSN(m.root)
	case post != nil:
		m.Original = newPart(post.inner, ctx)
	case kind.IsEnvelope():
		addProblem(&ctx.probs, ProblemNoOriginal, "envelope without postacert.eml")
	case kind == KindAvvenutaConsegna && m.ReceiptType != ReceiptSintetica && m.ReceiptType != "":
		addProblem(&ctx.probs, ProblemNoOriginal, "delivery receipt "+string(m.ReceiptType)+" without postacert.eml")
	}

	// Signature, last: it may use the daticert time.
	if d != nil && !d.Time.IsZero() {
		ctx.fallbackTime = d.Time
	}
	switch {
	case sigEntity != nil:
		m.Signature = ctx.verifyDetached(sigEntity, content.raw())
	case opaqueErr.Status != "":
		m.Signature = opaqueErr
	case m.Signature.Status == "":
		m.Signature = Signature{Status: SignatureAbsent}
		if signed {
			m.Signature.Reason = "signature part missing (truncated message?)"
		}
	}
}

// findPECParts looks for daticert.xml and postacert.eml among the parts of the
// signed content, without entering message/rfc822 parts.
func findPECParts(e *entity, depth int) (dati, post *entity) {
	if depth > 3 {
		return nil, nil
	}
	var anyRFC822 *entity
	for _, c := range e.children {
		name := strings.ToLower(c.filename())
		switch {
		case c.inner != nil:
			if name == "postacert.eml" && post == nil {
				post = c
			} else if anyRFC822 == nil {
				anyRFC822 = c
			}
		case name == "daticert.xml" && dati == nil:
			dati = c
		case strings.HasPrefix(c.mediaType, "multipart/") && c.mediaType != "multipart/alternative":
			d, p := findPECParts(c, depth+1)
			if dati == nil {
				dati = d
			}
			if post == nil {
				post = p
			}
		}
	}
	if post == nil {
		post = anyRFC822
	}
	return dati, post
}

func isDSN(e *entity) bool {
	if e.mediaType == "multipart/report" && strings.EqualFold(e.params["report-type"], "delivery-status") {
		return true
	}
	for _, c := range e.children {
		if c.mediaType == "message/delivery-status" {
			return true
		}
	}
	return false
}
