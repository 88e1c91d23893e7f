package letter

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/pdf"

	"github.com/casellario-pec/casellario/shared/domain"
)

func sample() Request {
	return Request{
		Comune: "Comune di Prato", IPA: "c_g999", Office: "Servizio attività economiche SUAP",
		Procura: "Procura della Repubblica presso il Tribunale di Prato", ProcuraPEC: "casellario@pec.procura.prato.test",
		CertificateType: "Certificato generale del casellario giudiziario", Purpose: "verifica dei requisiti (art. 71 DPR 445/2000)",
		Protocol: domain.Protocol{Number: "0012345", Date: domain.Date{Year: 2026, Month: time.November, Day: 25}},
		Subjects: 42, SubjectsFile: "soggetti.csv",
	}
}

// text extracts the plain text of a PDF, as the Procura's staff would read it.
func text(t *testing.T, b []byte) string {
	t.Helper()
	pages, err := pdf.Text(context.Background(), b, pdf.Limits{})
	if err != nil {
		t.Fatalf("not a PDF: %v", err)
	}
	return strings.Join(pages, "")
}

func TestWrite(t *testing.T) {
	b, err := Bytes(sample())
	if err != nil {
		t.Fatal(err)
	}
	got := text(t, b)
	for _, want := range []string{"Comune di Prato", "attività", "0012345", "25/11/2026", "42", "soggetti.csv", "Finalità", "casellario giudiziario"} {
		if !strings.Contains(got, want) {
			t.Errorf("letter text lacks %q:\n%s", want, got)
		}
	}
	again, _ := Bytes(sample())
	if !bytes.Equal(b, again) {
		t.Error("the same request gave different bytes")
	}
	if s := Subject(sample()); s != "Richiesta certificati del casellario giudiziario - Prot. n. 0012345 del 25/11/2026" {
		t.Errorf("subject %q", s)
	}
}

func TestWriteRefusesIncompleteRequests(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Request)
		want   string
	}{
		{"no protocol number", func(r *Request) { r.Protocol.Number = "" }, "Protocol.Number"},
		{"no protocol date", func(r *Request) { r.Protocol.Date = domain.Date{} }, "Protocol.Date"},
		{"no purpose", func(r *Request) { r.Purpose = " " }, "Purpose"},
		{"nobody", func(r *Request) { r.Subjects = 0 }, "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sample()
			tt.change(&r)
			var b bytes.Buffer
			err := Write(&b, r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Error("bytes written for a refused request")
			}
		})
	}
}
