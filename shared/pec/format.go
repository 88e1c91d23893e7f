package pec

// format is what the reader knows of one family of certified mail, behind one
// small port: PEC today; an ETSI REM (EN 319 532) evidence set can be added as
// a second format without touching the rest (see rem.md). A format detects its
// messages and reads them into the common Message; MIME parsing, signature
// checks, attachments, decryption and re-wrapped messages are shared.
type format interface {
	// name is Message.Format for the messages it reads.
	name() string
	// detect reports, cheaply, whether msg (a message's root entity) may be of
	// this format.
	detect(msg *entity) bool
	// read fills m from msg. It may find that msg is not of its format after
	// all; it then reads it as ordinary mail (readMail).
	read(m *Message, msg *entity, ctx *readCtx)
}

// formats are tried in order; a message none detects is ordinary mail.
var formats = []format{pecFormat{}}

// read fills m from its MIME tree.
func (m *Message) read(ctx *readCtx) {
	msg := m.root
	if inner, ok := findRewrapped(m.root); ok {
		m.Rewrapped = readWrapper(m.root, ctx)
		addProblem(&ctx.probs, ProblemRewrapped, "the signed PEC message was found inside a message/rfc822 part of an unsigned message (re-sent by a list manager?)")
		msg = inner
		m.Header = inner.header
	}
	m.REM = readREM(m.Header)
	for _, f := range formats {
		if f.detect(msg) {
			f.read(m, msg, ctx)
			return
		}
	}
	readMail(m, msg, openSigned(msg, ctx), ctx)
}
