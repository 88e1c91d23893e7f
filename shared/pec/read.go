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

	// DecryptionKeys open replies encrypted for the Comune (CMS enveloped-data);
	// none means that encrypted parts are listed as not opened.
	DecryptionKeys []DecryptionKey

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
	keys         []DecryptionKey
	now          func() time.Time
	fallbackTime time.Time
	buf          []byte
	tb           *transferBuffers
}

func (ctx *readCtx) copyBuf() []byte {
	if ctx.buf == nil {
		ctx.buf = make([]byte, 32<<10)
	}
	return ctx.buf
}

func newCtx(o ReadOptions) *readCtx {
	ctx := &readCtx{trust: o.TrustStore, keys: o.DecryptionKeys, now: o.Now}
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
	m.read(ctx)
	ctx.release()
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
