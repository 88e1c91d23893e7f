package pec

import (
	"bytes"
	"encoding/base64"
	"syscall"
	"testing"
	"time"
)

// BenchmarkReadVerifyReceiptBER reads a receipt whose signature is BER with
// indefinite lengths throughout, as streaming signers write it.
func BenchmarkReadVerifyReceiptBER(b *testing.B) {
	p, err := testCMSPKI()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := WriteReceipt(&buf, ReceiptSpec{
		Kind: KindAccettazione, RefMessageID: "<orig@comune.example>", Sender: "comune@pec.example",
		Recipients: []Recipient{{Address: "procura@pec.example", Type: RecipientCertificato}}, Subject: "Richiesta",
	}, &Signer{Certificate: p.rsaCert, Key: p.rsaKey}); err != nil {
		b.Fatal(err)
	}
	raw := buf.Bytes()
	start := bytes.Index(raw, []byte("filename=\"smime.p7s\"\r\n\r\n")) + 24
	end := start + bytes.Index(raw[start:], []byte("\r\n\r\n"))
	der, err := base64.StdEncoding.DecodeString(string(bytes.ReplaceAll(raw[start:end], []byte("\r\n"), nil)))
	if err != nil {
		b.Fatal(err)
	}
	ber := base64.StdEncoding.EncodeToString(deepBER(b, der, 0))
	raw = append(append(append([]byte{}, raw[:start]...), ber...), raw[end:]...)
	opts := ReadOptions{TrustStore: p.pool}
	if m, err := Parse(raw, opts); err != nil || m.Signature.Status != SignatureValid {
		b.Fatalf("setup: %v %+v", err, m.Signature)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	cpu0 := rusage()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Parse(raw, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if cpu := (rusage() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu, "msgs/cpu-s")
	}
}

func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
