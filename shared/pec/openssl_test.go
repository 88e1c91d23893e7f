package pec_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

// opensslStatus runs `openssl cms -verify` on a message: valid when it
// verifies against caFile, untrusted when it verifies only without the chain
// check (-noverify), invalid otherwise.
func opensslStatus(t *testing.T, openssl string, msg []byte, caFile string) pec.SignatureStatus {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "m.eml")
	if err := os.WriteFile(in, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) bool {
		cmd := exec.Command(openssl, append([]string{"cms", "-verify", "-in", in, "-out", os.DevNull, "-purpose", "any"}, args...)...)
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("openssl: %v", err)
		}
		return err == nil
	}
	switch {
	case run("-CAfile", caFile):
		return pec.SignatureValid
	case run("-noverify"):
		return pec.SignatureUntrusted
	}
	return pec.SignatureInvalid
}

// TestSignatureAgreesWithOpenSSL checks the reader's verdicts against
// OpenSSL's on messages the provider writer signs, RSA and ECDSA, whole and
// spoiled. It is skipped where openssl is not installed.
func TestSignatureAgreesWithOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: agreement with OpenSSL not checked")
	}
	other, err := pki.New("Altra CA", false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	otherFile := filepath.Join(dir, "other.pem")
	if err := os.WriteFile(otherFile, other.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"ecdsa", "rsa"} {
		p := getPKI(t)
		if alg == "rsa" {
			if p, err = benchPKI(); err != nil {
				t.Fatal(err)
			}
		}
		caFile := filepath.Join(dir, alg+"-ca.pem")
		if err := os.WriteFile(caFile, p.ca.PEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		original, _ := composeOriginal(t, p, []byte("allegato"))
		receipt, _ := writeKind(t, p, pec.KindAvvenutaConsegna, original, pec.ReceiptCompleta)
		envelope, _ := writeKind(t, p, pec.KindPostaCertificata, original, "")
		altered := bytes.Replace(receipt, []byte("Si trasmette"), []byte("Si trasmeTTe"), 1)
		sigAt := bytes.Index(receipt, []byte("filename=\"smime.p7s\"\r\n\r\n")) + 24
		badSig := bytes.Clone(receipt)
		copy(badSig[sigAt+300:], "AAAAAAAAAAAAAAAA")
		tests := []struct {
			name string
			raw  []byte
			ca   string
			want pec.SignatureStatus
		}{
			{"receipt", receipt, caFile, pec.SignatureValid},
			{"envelope", envelope, caFile, pec.SignatureValid},
			{"receipt, other CA", receipt, otherFile, pec.SignatureUntrusted},
			{"content altered", altered, caFile, pec.SignatureInvalid},
			{"signature altered", badSig, caFile, pec.SignatureInvalid},
		}
		for _, tc := range tests {
			t.Run(alg+"/"+tc.name, func(t *testing.T) {
				pool, err := pec.LoadTrustStore(tc.ca)
				if err != nil {
					t.Fatal(err)
				}
				m, err := pec.Parse(tc.raw, pec.ReadOptions{TrustStore: pool})
				if err != nil {
					t.Fatal(err)
				}
				got := opensslStatus(t, openssl, tc.raw, tc.ca)
				if m.Signature.Status != got {
					t.Errorf("reader says %s (%s), openssl says %s", m.Signature.Status, m.Signature.Reason, got)
				}
				if got != tc.want {
					t.Errorf("openssl says %s, want %s", got, tc.want)
				}
			})
		}
	}
}
