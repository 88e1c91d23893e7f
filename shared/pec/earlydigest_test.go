package pec_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
)

// Envelopes on both sides of the size from which the signature's digest is
// computed beside the reading: the verdict is the same, and a byte changed
// in the signed content is caught either way.
func TestEnvelopeDigestBySize(t *testing.T) {
	p := getPKI(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		name   string
		size   int
		tamper bool
		lf     bool // stored with bare LF line ends, as some mail stores keep messages
		want   pec.SignatureStatus
	}{
		{"small", 2 << 10, false, false, pec.SignatureValid},
		{"small, altered", 2 << 10, true, false, pec.SignatureInvalid},
		{"small, LF", 2 << 10, false, true, pec.SignatureValid},
		{"large", 300 << 10, false, false, pec.SignatureValid},
		{"large, altered", 300 << 10, true, false, pec.SignatureInvalid},
		{"large, LF", 300 << 10, false, true, pec.SignatureValid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := make([]byte, tt.size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			original, _ := composeOriginal(t, p, data)
			var buf bytes.Buffer
			if _, err := pec.WriteEnvelope(&buf, original, pec.EnvelopeSpec{}, p.provider); err != nil {
				t.Fatal(err)
			}
			raw := buf.Bytes()
			if tt.tamper {
				// A subject line inside the signed content, changed by one letter.
				i := bytes.Index(raw, []byte("Richiesta certificati"))
				if i < 0 {
					t.Fatal("no subject in the envelope")
				}
				raw[i] = 'r'
			}
			if tt.lf {
				raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
			}
			m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: p.ca.Pool()})
			if err != nil {
				t.Fatal(err)
			}
			if m.Signature.Status != tt.want {
				t.Errorf("signature %s (%s), want %s", m.Signature.Status, m.Signature.Reason, tt.want)
			}
		})
	}
}
