package pec

import "errors"

// Streaming signers (OpenSSL -stream, BouncyCastle) write CMS in BER, with
// indefinite lengths. berToDER gives the fast reader definite lengths; it runs
// only on such input, and copies the signature structure only (a detached
// signature is a few KB). Constructed strings stay constructed, as pkcs7's own
// conversion keeps them; parseCMSFast joins a chunked content.

var errBER = errors.New("malformed BER")

const maxBERDepth = 32

// hasIndefiniteLength reports whether the outer element of b has one.
func hasIndefiniteLength(b []byte) bool {
	return len(b) > 1 && b[0]&0x20 != 0 && b[1] == 0x80
}

// berToDER re-encodes one BER element with definite lengths.
func berToDER(b []byte) ([]byte, error) {
	out, rest, err := berElement(nil, b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errBER
	}
	return out, nil
}

// berElement appends the DER form of the element at the start of b to out and
// returns what follows it.
func berElement(out, b []byte, depth int) ([]byte, []byte, error) {
	if depth > maxBERDepth {
		return nil, nil, errBER
	}
	// identifier octets
	if len(b) < 2 {
		return nil, nil, errBER
	}
	idLen := 1
	if b[0]&0x1f == 0x1f {
		for idLen < len(b) && b[idLen]&0x80 != 0 {
			idLen++
		}
		idLen++
		if idLen > 6 || idLen >= len(b) {
			return nil, nil, errBER
		}
	}
	id, b := b[:idLen], b[idLen:]
	constructed := id[0]&0x20 != 0
	// length octets
	l := int(b[0])
	b = b[1:]
	if l == 0x80 {
		if !constructed {
			return nil, nil, errBER
		}
		var content []byte
		for {
			if len(b) < 2 {
				return nil, nil, errBER
			}
			if b[0] == 0 && b[1] == 0 {
				b = b[2:]
				break
			}
			var err error
			if content, b, err = berElement(content, b, depth+1); err != nil {
				return nil, nil, err
			}
		}
		out = append(out, id...)
		out = appendDERLength(out, len(content))
		return append(out, content...), b, nil
	}
	if l > 0x80 {
		n := l & 0x7f
		if n > 4 || n > len(b) {
			return nil, nil, errBER
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l < 0 || l > len(b) {
		return nil, nil, errBER
	}
	body, rest := b[:l], b[l:]
	out = append(out, id...)
	if !constructed {
		out = appendDERLength(out, len(body))
		return append(out, body...), rest, nil
	}
	var content []byte
	for len(body) > 0 {
		var err error
		if content, body, err = berElement(content, body, depth+1); err != nil {
			return nil, nil, err
		}
	}
	out = appendDERLength(out, len(content))
	return append(out, content...), rest, nil
}

func appendDERLength(out []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n < 0x100:
		return append(out, 0x81, byte(n))
	case n < 0x10000:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
