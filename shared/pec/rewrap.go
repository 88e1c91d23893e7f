package pec

import "strings"

// findRewrapped returns the signed PEC message that root carries as a
// message/rfc822 part when root is not a PEC message itself: a list manager
// that re-sends a provider's envelope wraps it so, and its own signature (if
// any) is not the provider's.
func findRewrapped(root *entity) (*entity, bool) {
	content := root
	switch {
	case isOpaqueSigned(root):
		return nil, false
	case root.mediaType == "multipart/signed":
		if root.header.Has("X-Ricevuta") || root.header.Has("X-Trasporto") || len(root.children) == 0 {
			return nil, false
		}
		content = root.children[0]
	}
	if !strings.HasPrefix(content.mediaType, "multipart/") {
		return nil, false
	}
	if dati, _ := findPECParts(content, 0); dati != nil {
		return nil, false
	}
	return nestedSignedPEC(content, 0)
}

func nestedSignedPEC(e *entity, depth int) (*entity, bool) {
	if depth > 3 {
		return nil, false
	}
	for _, c := range e.children {
		switch {
		case c.inner != nil && isSignedPEC(c.inner):
			return c.inner, true
		case strings.HasPrefix(c.mediaType, "multipart/"):
			if in, ok := nestedSignedPEC(c, depth+1); ok {
				return in, true
			}
		}
	}
	return nil, false
}

// isSignedPEC: a provider-signed message with PEC headers or a daticert.xml.
func isSignedPEC(m *entity) bool {
	switch {
	case m.mediaType == "multipart/signed" && len(m.children) > 0:
		if m.header.Has("X-Ricevuta") || m.header.Has("X-Trasporto") {
			return true
		}
		dati, _ := findPECParts(m.children[0], 0)
		return dati != nil
	case isOpaqueSigned(m):
		return m.header.Has("X-Ricevuta") || m.header.Has("X-Trasporto")
	}
	return false
}

// readWrapper describes the outer message and checks its own signature.
func readWrapper(root *entity, ctx *readCtx) *Wrapper {
	w := &Wrapper{Header: root.header, MessageID: root.header.MessageID("Message-ID")}
	if f := root.header.Addresses("From"); len(f) > 0 {
		w.From = f[0]
	}
	w.Signature = Signature{Status: SignatureAbsent}
	if root.mediaType == "multipart/signed" && len(root.children) > 1 && isDetachedSig(root.children[1].mediaType) {
		w.Signature = ctx.verifyDetached(root.children[1], root.children[0].raw(), &digestMemo{})
	}
	return w
}
