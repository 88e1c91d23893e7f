package poll

import (
	"bufio"
	"bytes"
	"context"
	"mime"
	"net/textproto"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// header is what the header of a message tells before it is fetched.
type header struct {
	MessageID string
	Ricevuta  string // X-Ricevuta: a receipt
	Trasporto string // X-Trasporto: an envelope
	Ref       string // X-Riferimento-Message-ID
	Senders   []string
	Subject   string // decoded; for triage, never logged
	Date      string
}

var wordDecoder = mime.WordDecoder{}

// readHeader reads the raw header of a message leniently: it decides only
// whether to fetch the message, never what it means (that is read from the
// whole message, signature and daticert included).
func readHeader(raw []byte) header {
	r := textproto.NewReader(bufioReader(raw))
	mh, _ := r.ReadMIMEHeader() // a damaged header still gives what it could read
	get := func(k string) string { return strings.TrimSpace(mh.Get(k)) }
	dec := func(s string) string {
		if d, err := wordDecoder.DecodeHeader(s); err == nil {
			return d
		}
		return s
	}
	h := header{MessageID: get("Message-Id"), Ricevuta: strings.ToLower(get("X-Ricevuta")), Trasporto: strings.ToLower(get("X-Trasporto")),
		Ref: get("X-Riferimento-Message-Id"), Subject: dec(get("Subject")), Date: get("Date")}
	for _, k := range []string{"From", "Reply-To", "Sender"} {
		for _, v := range mh.Values(k) {
			h.Senders = append(h.Senders, dec(v))
		}
	}
	return h
}

// concerns reports, from its header alone, whether a message of a shared
// mailbox concerns our requests and is to be fetched: a receipt about a
// Message-ID we sent, or a PEC envelope sent by the tenant's Procura. Only
// these are read; the rest of the protocol office's mail is left untouched.
func (h *Handler) concerns(ctx context.Context, t *tenants.Tenant, hd header) (bool, error) {
	switch {
	case hd.Ricevuta != "":
		ref := strings.TrimSpace(hd.Ref)
		if ref == "" {
			return false, nil
		}
		if !strings.HasPrefix(ref, "<") {
			ref = "<" + ref + ">"
		}
		_, err := h.Store.BatchByMessageID(ctx, t.ID, ref)
		switch domain.ErrorCode(err) {
		case "":
			return true, nil
		case domain.ENOTFOUND, domain.EINVALID:
			return false, nil
		}
		return false, err
	case hd.Trasporto != "":
		for _, s := range hd.Senders {
			for _, p := range t.ProcuraAddresses() {
				if containsAddress(s, p) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// containsAddress reports whether text holds addr as a whole address
// (case-insensitive): "Per conto di: a@b.it" <posta-certificata@x.it> holds
// a@b.it, but a@b.it.example.com does not.
func containsAddress(text, addr string) bool {
	lt, la := strings.ToLower(text), strings.ToLower(strings.TrimSpace(addr))
	if la == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(lt[i:], la)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(la)
		if (start == 0 || !localChar(lt[start-1])) && (end == len(lt) || !domainChar(lt[end])) {
			return true
		}
		i = start + 1
	}
}

func localChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("._%+-", c) >= 0
}

func domainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

func bufioReader(raw []byte) *bufio.Reader {
	// The header as fetched ends with an empty line; make sure of it.
	if !bytes.HasSuffix(raw, []byte("\r\n\r\n")) && !bytes.HasSuffix(raw, []byte("\n\n")) {
		raw = append(append([]byte(nil), raw...), "\r\n\r\n"...)
	}
	return bufio.NewReader(bytes.NewReader(raw))
}
