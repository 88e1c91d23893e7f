package pec_test

import (
	"bytes"
	"crypto/rand"
	"runtime"
	"sync"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pectest"
)

// benchPKI uses RSA-2048, as providers do.
var benchPKI = sync.OnceValues(func() (*testPKI, error) {
	ca, err := pectest.NewCA("CA PEC di prova", pectest.Options{})
	if err != nil {
		return nil, err
	}
	prov, err := ca.NewSigner("Gestore PEC di prova S.p.A.", "posta-certificata@pec.prova.example")
	if err != nil {
		return nil, err
	}
	return &testPKI{ca: ca, provider: prov, user: prov}, nil
})

// benchRead parses raw b.N times and reports messages/s, MB/s (SetBytes),
// allocations, and alloc/size: bytes allocated per message divided by its size,
// an upper bound of the heap one message costs beyond its raw bytes.
func benchRead(b *testing.B, raw []byte, trust *pec.ReadOptions, want pec.SignatureStatus) {
	b.Helper()
	m, err := pec.Parse(raw, *trust)
	if err != nil || m.Signature.Status != want {
		b.Fatalf("setup: %v %v %s", err, m.Signature.Status, m.Signature.Reason)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if _, err := pec.Parse(raw, *trust); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(raw)), "alloc/size")
}

func BenchmarkReadVerifyReceipt(b *testing.B) {
	p, err := benchPKI()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := pec.WriteReceipt(&buf, pec.ReceiptSpec{
		Kind: pec.KindAccettazione, RefMessageID: "<orig@comune.example>", Sender: "comune@pec.example",
		Recipients: []pec.Recipient{{Address: "procura@pec.example", Type: pec.RecipientCertificato}}, Subject: "Richiesta",
	}, p.provider); err != nil {
		b.Fatal(err)
	}
	benchRead(b, buf.Bytes(), &pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureValid)
}

func benchEnvelope(b *testing.B, size int) {
	p, err := benchPKI()
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	original, _ := composeOriginal(b, p, data)
	var buf bytes.Buffer
	if _, err := pec.WriteEnvelope(&buf, original, pec.EnvelopeSpec{}, p.provider); err != nil {
		b.Fatal(err)
	}
	benchRead(b, buf.Bytes(), &pec.ReadOptions{TrustStore: p.ca.Pool()}, pec.SignatureValid)
}

func BenchmarkReadEnvelope1MB(b *testing.B)  { benchEnvelope(b, 1<<20) }
func BenchmarkReadEnvelope20MB(b *testing.B) { benchEnvelope(b, 20<<20) }
