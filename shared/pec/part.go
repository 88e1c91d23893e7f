package pec

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"path"
	"strings"
	"time"
)

// Part is a whole e-mail message found inside another: the transported original
// (postacert.eml) or, for non-PEC mail, the message itself.
type Part struct {
	Header    Header
	MessageID string // with angle brackets
	Subject   string // decoded
	From      string // address only
	To        []string
	Cc        []string
	Date      time.Time // zero when missing or unreadable
	// Attachments are the leaf attachments, with nested .eml and .p7m unwrapped:
	// a container comes first, then what it holds (their Container is its name).
	Attachments []Attachment

	e *entity
}

// Raw returns the message's bytes as transported. The caller must not modify them.
func (p *Part) Raw() []byte { return p.e.raw() }

// Text returns the first text/plain body of the message, decoded to UTF-8,
// without attachments; "" when there is none.
func (p *Part) Text() (string, error) {
	t := findText(p.e, 0)
	if t == nil {
		return "", nil
	}
	return decodeBody(t)
}

func findText(e *entity, depth int) *entity {
	if depth > 32 {
		return nil
	}
	if e.mediaType == "text/plain" && e.disposition() != "attachment" {
		return e
	}
	if e.decrypted != nil {
		return findText(e.decrypted, depth+1)
	}
	for _, c := range e.children {
		if t := findText(c, depth+1); t != nil {
			return t
		}
	}
	return nil
}

// decodeBody returns the text of a text/* entity, transfer- and charset-decoded.
func decodeBody(e *entity) (string, error) {
	r := decodeTransfer(e.encoding(), bytes.NewReader(e.body()))
	if cs := e.params["charset"]; cs != "" {
		cr, err := charsetReader(cs, r)
		if err != nil {
			return "", err
		}
		r = cr
	}
	b, err := io.ReadAll(r)
	return toUTF8(string(b)), err
}

// Attachment is an attachment of the original message.
type Attachment struct {
	Name        string // decoded file name; for unwrapped .p7m, without the .p7m
	ContentType string // lower case media type
	Size        int64  // decoded size in bytes
	SHA256      string // hex SHA-256 of the decoded content
	// Container is the name of the .eml or .p7m attachment this one was found in,
	// "" for the message's own attachments.
	Container string
	// Signature is the CAdES signature of a .p7m file and of the content
	// unwrapped from it, else nil.
	Signature *Signature
	// Encrypted marks a CMS enveloped-data part (S/MIME or .p7m encrypted for
	// the Comune); Decrypted tells whether it could be opened (its content is
	// then the next attachment, with this one as Container).
	Encrypted bool
	Decrypted bool

	open func() (io.Reader, error)
}

// Open returns the decoded content. It decodes again from the message's bytes
// on each call; the message must be kept.
func (a *Attachment) Open() (io.Reader, error) {
	if a.open == nil {
		return nil, errors.New("pec: attachment content is not available")
	}
	return a.open()
}

func newPart(e *entity, ctx *readCtx) *Part {
	h := e.header
	p := &Part{
		Header:    h,
		MessageID: h.MessageID("Message-ID"),
		Subject:   h.Text("Subject"),
		To:        h.Addresses("To"),
		Cc:        h.Addresses("Cc"),
		e:         e,
	}
	if f := h.Addresses("From"); len(f) > 0 {
		p.From = f[0]
	}
	p.Date = parseDate(h.Get("Date"))
	body := e
	if e.inner != nil { // never for a message, kept for safety
		body = e.inner
	}
	collectAttachments(body, "", 0, &p.Attachments, ctx)
	return p
}

func isEnvelopedType(e *entity) bool {
	return (e.mediaType == "application/pkcs7-mime" || e.mediaType == "application/x-pkcs7-mime") &&
		strings.EqualFold(e.params["smime-type"], "enveloped-data")
}

func isP7M(name, mediaType string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".p7m") ||
		mediaType == "application/pkcs7-mime" || mediaType == "application/x-pkcs7-mime"
}

// collectAttachments walks e and appends its attachments.
func collectAttachments(e *entity, container string, depth int, out *[]Attachment, ctx *readCtx) {
	if depth > ctx.lim.maxDepth || len(*out) >= ctx.lim.maxParts {
		return
	}
	switch {
	case strings.HasPrefix(e.mediaType, "multipart/"):
		for i, c := range e.children {
			if e.mediaType == "multipart/signed" && i > 0 && isDetachedSig(c.mediaType) {
				continue // the signature of an S/MIME signed original
			}
			collectAttachments(c, container, depth+1, out, ctx)
		}
		return
	case e.inner != nil: // message/rfc822
		name := e.filename()
		if name == "" {
			name = "message.eml"
		}
		a := hashEntity(e, name, container, ctx)
		*out = append(*out, a)
		collectAttachments(e.inner, name, depth+1, out, ctx)
		return
	}
	name := e.filename()
	if name == "" && (strings.HasPrefix(e.mediaType, "text/") || e.mediaType == "message/delivery-status") && e.disposition() != "attachment" {
		return // a body, not an attachment
	}
	if name == "" {
		name = "unnamed"
		if exts, _ := mime.ExtensionsByType(e.mediaType); len(exts) > 0 {
			name += exts[0]
		}
	}
	if isEnvelopedType(e) || isP7M(name, e.mediaType) || strings.HasSuffix(strings.ToLower(name), ".p7e") {
		data, err := ctx.decodeAll(e)
		if err != nil {
			addProblem(&ctx.probs, ProblemEncoding, "attachment with invalid "+encName(e.encoding())+" data")
		}
		if isEncryptedPart(e, name, data) {
			collectEncrypted(e, data, name, container, depth == 0, depth, out, ctx)
			return
		}
		if isP7M(name, e.mediaType) {
			*out = append(*out, bytesAttachment(data, name, e.mediaType, container, func() (io.Reader, error) {
				return decodeTransfer(e.encoding(), bytes.NewReader(e.body())), nil
			}))
			unwrapSigned(data, name, func() ([]byte, error) {
				return io.ReadAll(decodeTransfer(e.encoding(), bytes.NewReader(e.body())))
			}, out, ctx)
			return
		}
	}
	*out = append(*out, hashEntity(e, name, container, ctx))
}

// digestAttachment is bytesAttachment reusing the SHA-256 a CAdES check computed.
func digestAttachment(data []byte, memo *digestMemo, name, ct, container string, open func() (io.Reader, error)) Attachment {
	if memo != nil {
		if sum, ok := memo.sums[crypto.SHA256]; ok {
			return Attachment{Name: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum), Container: container, open: open}
		}
	}
	return bytesAttachment(data, name, ct, container, open)
}

func bytesAttachment(data []byte, name, ct, container string, open func() (io.Reader, error)) Attachment {
	sum := sha256.Sum256(data)
	return Attachment{Name: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Container: container, open: open}
}

// hashEntity hashes the decoded body of e in one pass over the message.
func hashEntity(e *entity, name, container string, ctx *readCtx) Attachment {
	open := func() (io.Reader, error) {
		return decodeTransfer(e.encoding(), bytes.NewReader(e.body())), nil
	}
	n, sum, err := ctx.hashBody(e)
	hexSum := hex.EncodeToString(sum)
	if err != nil {
		addProblem(&ctx.probs, ProblemEncoding, "attachment with invalid "+encName(e.encoding())+" data: no hash")
		n, hexSum = 0, ""
	}
	return Attachment{
		Name: name, ContentType: e.mediaType, Size: n,
		SHA256: hexSum, Container: container, open: open,
	}
}

// unwrapSigned appends the content of a CAdES signed file (name.ext.p7m) as
// an attachment named name.ext, with its signature checked; the .p7m (the last
// attachment) gets the same signature. The content is not kept: Open gets the
// .p7m again (reopen) and unwraps it.
func unwrapSigned(data []byte, name string, reopen func() ([]byte, error), out *[]Attachment, ctx *readCtx) {
	container := name
	for level := range 4 { // .p7m.p7m: signed again
		content, sig, memo, err := openCAdESMemo(data, ctx)
		if err != nil {
			addProblem(&ctx.probs, ProblemAttachment, "a .p7m attachment could not be unwrapped: "+err.Error())
			(*out)[len(*out)-1].Signature = &Signature{Status: SignatureInvalid, Reason: err.Error()}
			return
		}
		(*out)[len(*out)-1].Signature = &sig
		inner := name
		if strings.HasSuffix(strings.ToLower(inner), ".p7m") {
			inner = inner[:len(inner)-4]
		}
		a := digestAttachment(content, memo, inner, contentTypeOf(inner), container, func() (io.Reader, error) {
			d, err := reopen()
			if err != nil {
				return nil, err
			}
			for range level + 1 {
				if d, err = cadesContent(d); err != nil {
					return nil, err
				}
			}
			return bytes.NewReader(d), nil
		})
		a.Signature = &sig
		*out = append(*out, a)
		if !isP7M(inner, "") {
			return
		}
		data, name, container = content, inner, inner
	}
}

// contentTypeOf guesses a media type from a file name's extension.
func contentTypeOf(name string) string {
	ct := mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	return ct
}
