package pec

import (
	"os"
	"path/filepath"
	"testing"
)

// fixturesDir finds ../shared/fixtures/pec relative to the repository root (the
// directory holding go.mod), or skips the test.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the test directory; PEC fixtures unavailable")
		}
		dir = parent
	}
	fx := filepath.Join(dir, "..", "shared", "fixtures", "pec")
	if _, err := os.Stat(fx); err != nil {
		t.Skipf("PEC fixtures not found at %s: conformance test skipped", fx)
	}
	return fx
}

func TestConformanceFixtures(t *testing.T) {
	dir := fixturesDir(t)
	tests := []struct {
		file      string
		kind      Kind
		sig       SignatureStatus
		ref       string
		pecID     string
		rtype     ReceiptType
		errCode   string
		dsn       bool
		original  bool
		conflicts bool
	}{
		{file: "go-pec_accettazione.eml", kind: KindAccettazione, sig: SignatureInvalid,
			ref: "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", pecID: "opec210312.20241115182038.288127.606.1.53@fakepec.it", errCode: ErrorNone},
		{file: "go-pec_consegna.eml", kind: KindErroreConsegna, sig: SignatureInvalid,
			ref: "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", pecID: "opec210312.20241115182038.288127.606.1.53@fakepec.it", errCode: ErrorNoDest, conflicts: true},
		{file: "go-pec_email_2.eml", kind: KindAvvenutaConsegna, sig: SignatureInvalid,
			ref: "<CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com>", rtype: ReceiptCompleta, errCode: ErrorNone, original: true},
		{file: "go-pec_email_3.eml", kind: KindPostaCertificata, sig: SignatureInvalid,
			ref: "<CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com>", rtype: ReceiptCompleta, errCode: ErrorNone, original: true, conflicts: true},
		{file: "java-pec-parser_accettazione.eml", kind: KindAccettazione, sig: SignatureAbsent,
			ref: "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", errCode: ErrorNone},
		{file: "java-pec-parser_consegna.eml", kind: KindErroreConsegna, sig: SignatureAbsent,
			ref: "<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>", errCode: ErrorNoDest, conflicts: true},
		{file: "java-pec-parser_dsn-failure.eml", kind: KindNonPEC, sig: SignatureAbsent, dsn: true, original: true},
		{file: "java-pec-parser_simple-mail.eml", kind: KindNonPEC, sig: SignatureAbsent, original: true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := Read(f, ReadOptions{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if m.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", m.Kind, tc.kind)
			}
			if m.Signature.Status != tc.sig {
				t.Errorf("signature = %q (%s), want %q", m.Signature.Status, m.Signature.Reason, tc.sig)
			}
			if m.RefMessageID != tc.ref {
				t.Errorf("ref = %q, want %q", m.RefMessageID, tc.ref)
			}
			if tc.pecID != "" && m.PECID != tc.pecID {
				t.Errorf("pec id = %q, want %q", m.PECID, tc.pecID)
			}
			if m.ReceiptType != tc.rtype {
				t.Errorf("receipt type = %q, want %q", m.ReceiptType, tc.rtype)
			}
			if m.Error != tc.errCode {
				t.Errorf("error = %q, want %q", m.Error, tc.errCode)
			}
			if m.DeliveryStatus != tc.dsn {
				t.Errorf("delivery status = %v, want %v", m.DeliveryStatus, tc.dsn)
			}
			if (m.Original != nil) != tc.original {
				t.Errorf("original present = %v, want %v", m.Original != nil, tc.original)
			}
			if m.HasProblem(ProblemConflict) != tc.conflicts {
				t.Errorf("conflict reported = %v, want %v (%v)", m.HasProblem(ProblemConflict), tc.conflicts, m.Problems)
			}
			if tc.kind.IsPEC() {
				if m.Daticert == nil || m.Time.IsZero() {
					t.Errorf("daticert or its time missing")
				}
			}
		})
	}
}
