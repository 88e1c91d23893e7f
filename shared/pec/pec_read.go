package pec

import (
	"fmt"
	"strings"
)

// pecFormat reads PEC messages (DPR 68/2005, DM 2/11/2005, RFC 6109).
type pecFormat struct{}

func (pecFormat) name() string { return "pec" }

// detect: a PEC header, or a daticert.xml in the (possibly signed) content;
// opaque signed-data is opened by read, which falls back to ordinary mail.
func (pecFormat) detect(msg *entity) bool {
	h := msg.header
	if h.Has("X-Ricevuta") || h.Has("X-Trasporto") || isOpaqueSigned(msg) {
		return true
	}
	content := msg
	if msg.mediaType == "multipart/signed" && len(msg.children) > 0 {
		content = msg.children[0]
	}
	dati, _ := findPECParts(content, 0)
	return dati != nil
}

func (pecFormat) read(m *Message, msg *entity, ctx *readCtx) {
	sv := openSigned(msg, ctx)
	h := msg.header
	dati, post := findPECParts(sv.content, 0)
	ricevuta, trasporto := strings.TrimSpace(h.Get("X-Ricevuta")), strings.TrimSpace(h.Get("X-Trasporto"))
	if dati == nil && ricevuta == "" && trasporto == "" {
		readMail(m, msg, sv, ctx) // opaque signed ordinary mail
		return
	}
	m.Format = "pec"
	m.MessageID = h.MessageID("Message-ID")
	m.SecurityWarning = securityWarning(h, ctx)
	if dati != nil {
		m.Daticert = readDaticert(dati, ctx)
	}
	if m.Daticert == nil || m.Daticert.Time.IsZero() {
		m.Time = parseDate(h.Get("Date")) // the daticert time, inside the signature, wins
	}
	d := m.Daticert
	kind := pecKind(h, ricevuta, trasporto, d, sv.signed && dati != nil, ctx)
	if kind == "" {
		readMail(m, msg, sv, ctx)
		m.Daticert = d
		return
	}
	m.Kind = kind
	if kind != KindAnomalia && d == nil {
		addProblem(&ctx.probs, ProblemNoDaticert, "PEC message without daticert.xml")
	}
	if !sv.signed && kind != KindAnomalia {
		addProblem(&ctx.probs, ProblemSignature, "PEC message not signed")
	}

	// Receipt type.
	hdrRaw := strings.TrimSpace(h.Get("X-TipoRicevuta"))
	hdrType := ReceiptType(strings.ToLower(hdrRaw))
	if hdrRaw != "" && !hdrType.Valid() {
		addProblem(&ctx.probs, ProblemHeader, "unknown X-TipoRicevuta value")
	}
	if d != nil && d.Ricevuta != "" {
		m.ReceiptType = d.Ricevuta
		if hdrType.Valid() && hdrType != d.Ricevuta {
			addProblem(&ctx.probs, ProblemConflict, fmt.Sprintf("X-TipoRicevuta says %s, daticert.xml says %s", hdrType, d.Ricevuta))
		}
	} else if hdrType.Valid() {
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
		m.Ricezione = d.Ricezione
		if !d.Time.IsZero() {
			m.Time = d.Time
		}
		if hs := h.Text("Subject"); hs != "" && d.Oggetto != "" && !subjectsMatch(hs, d.Oggetto) {
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
		m.Subject = StripSubjectPrefix(h.Text("Subject"))
	}

	// The original.
	switch {
	case post != nil:
		m.Original = newPart(post.inner, ctx)
	case kind.IsEnvelope():
		addProblem(&ctx.probs, ProblemNoOriginal, "envelope without postacert.eml")
	case kind == KindAvvenutaConsegna && m.ReceiptType != ReceiptSintetica && m.ReceiptType != "":
		addProblem(&ctx.probs, ProblemNoOriginal, "delivery receipt "+string(m.ReceiptType)+" without postacert.eml")
	}

	if d != nil && !d.Time.IsZero() {
		ctx.fallbackTime = d.Time
	}
	m.Signature = sv.verify(ctx)
}

// readDaticert decodes and parses a daticert.xml part; nil when unreadable.
func readDaticert(dati *entity, ctx *readCtx) *Daticert {
	data, err := ctx.decodeAll(dati)
	if len(data) > MaxDaticertSize+1 {
		data = data[:MaxDaticertSize+1]
	}
	if err != nil {
		addProblem(&ctx.probs, ProblemEncoding, "daticert.xml with invalid "+encName(dati.encoding())+" data")
	}
	d, warns, perr := ParseDaticert(data)
	if perr != nil {
		addProblem(&ctx.probs, ProblemDaticert, perr.Error())
		return nil
	}
	for _, w := range warns {
		addProblem(&ctx.probs, ProblemDaticert, w)
	}
	return d
}

// pecKind decides the kind of a PEC message. daticert tipo is inside the
// signature and wins over the headers, which are not; unknown or non-standard
// header values fall back to daticert tipo, then to the provider's subject
// prefix. structure (a signature and a daticert.xml) makes it PEC whatever
// the rest says. "" means ordinary mail.
func pecKind(h Header, ricevuta, trasporto string, d *Daticert, structure bool, ctx *readCtx) Kind {
	var hk Kind
	if ricevuta != "" {
		k, alias := lookupKind(ricevuta)
		switch {
		case k.IsReceipt() && !alias:
			hk = k
		case k.IsReceipt():
			hk = k
			addProblem(&ctx.probs, ProblemUnknownKind, "non-standard X-Ricevuta value "+quoteToken(ricevuta)+" read as "+string(k))
		default:
			addProblem(&ctx.probs, ProblemUnknownKind, "unknown X-Ricevuta value "+quoteToken(ricevuta))
		}
	}
	var tk Kind
	switch normalizeKindValue(trasporto) {
	case "":
	case "posta-certificata":
		tk = KindPostaCertificata
	case "errore":
		tk = KindAnomalia
	default:
		addProblem(&ctx.probs, ProblemUnknownKind, "unknown X-Trasporto value "+quoteToken(trasporto))
	}
	kind := hk
	switch {
	case hk != "" && tk != "":
		addProblem(&ctx.probs, ProblemConflict, fmt.Sprintf("X-Ricevuta says %s, X-Trasporto says %s", hk, tk))
	case hk == "":
		kind = tk
	}
	if d != nil {
		dk, alias := lookupKind(string(d.Tipo))
		if alias && dk != "" {
			addProblem(&ctx.probs, ProblemDaticert, "non-standard daticert.xml tipo read as "+string(dk))
		}
		if dk != "" {
			if kind != "" && kind != dk && !(kind == KindAnomalia && dk == KindPostaCertificata) {
				addProblem(&ctx.probs, ProblemConflict, fmt.Sprintf("header says %s, daticert.xml says %s", kind, dk))
			}
			if ricevuta == "" && trasporto == "" {
				addProblem(&ctx.probs, ProblemConflict, "daticert.xml says "+string(dk)+" but the message has no X-Ricevuta or X-Trasporto header")
			}
			if kind != KindAnomalia || dk != KindPostaCertificata {
				kind = dk
			}
		}
	}
	if kind == "" && (ricevuta != "" || trasporto != "" || structure) {
		if sk := subjectKind(h.Text("Subject")); sk != "" {
			kind = sk
			addProblem(&ctx.probs, ProblemUnknownKind, "kind "+string(sk)+" taken from the provider's subject prefix")
		}
	}
	if kind == "" && structure {
		kind = KindUnknownPEC
		addProblem(&ctx.probs, ProblemUnknownKind, "signed PEC message with daticert.xml of unknown kind")
	}
	return kind
}

// quoteToken quotes a header value for a Problem when it is a short token,
// the only shape a kind value has; anything else is not repeated.
func quoteToken(v string) string {
	if len(v) > 40 {
		return "(not shown)"
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "(not shown)"
		}
	}
	return `"` + v + `"`
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

func equalFoldTrim(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }
