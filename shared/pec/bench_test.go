package pec_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

// The benchmarks read messages as poll does: parse, SHA-256 of every
// attachment, signature check against a trust store (RSA-2048, as providers
// sign). Besides ns/op and MB/s they report msgs/s, and msgs and MB per
// second of CPU time (cpu-s): on a shared machine the wall clock also counts
// other processes' time. Run them on one core: go test -bench . -cpu 1.

// benchPKI uses RSA-2048, as providers do.
var benchPKI = sync.OnceValues(func() (*testPKI, error) {
	ca, err := pki.New("CA PEC di prova", true)
	if err != nil {
		return nil, err
	}
	prov, err := ca.Signer("Gestore PEC di prova S.p.A.", "posta-certificata@pec.prova.example")
	if err != nil {
		return nil, err
	}
	user, err := ca.Signer("Ufficio di prova", "protocollo@pec.comune.example")
	if err != nil {
		return nil, err
	}
	return &testPKI{ca: ca, provider: prov, user: user}, nil
})

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRead parses raw b.N times and reports messages/s, MB/s (SetBytes), the
// same per CPU second, allocations, and alloc/size: bytes allocated per message
// divided by its size.
func benchRead(b *testing.B, raw []byte, opts *pec.ReadOptions, want pec.SignatureStatus) {
	b.Helper()
	m, err := pec.Parse(raw, *opts)
	if err != nil || m.Signature.Status != want {
		b.Fatalf("setup: %v %v %s", err, m.Signature.Status, m.Signature.Reason)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := pec.Parse(raw, *opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := (cpuTime() - cpu0).Seconds()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu, "msgs/cpu-s")
		b.ReportMetric(float64(b.N)*float64(len(raw))/1e6/cpu, "MB/cpu-s")
	}
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

// BenchmarkReadEnvelope reads transport envelopes of a request like the
// dispatcher's (signed letter .p7m, subjects file, segnatura.xml) with one
// more attachment of the given size: a few KB to a few MB. With 370KB the
// envelope is about 520 KB, the mean of the real envelopes measured with
// go-pec.
func BenchmarkReadEnvelope(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 370 << 10, 512 << 10, 1 << 20, 4 << 20, 20 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
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
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%dKB", n>>10)
}
