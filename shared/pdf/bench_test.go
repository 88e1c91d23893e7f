package pdf

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	lpdf "github.com/ledongthuc/pdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

type benchDoc struct {
	name  string
	data  []byte
	pages int
}

func benchDocs(b *testing.B) []benchDoc {
	return []benchDoc{
		{"1page", certificate(b, people[1:2], true), 1},
		{"300pages", bigCertificate(b), 300},
	}
}

func report(b *testing.B, d benchDoc) {
	b.ReportMetric(float64(d.pages*b.N)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkText reads the text of every page, with this package and with
// ledongthuc/pdf, side by side.
func BenchmarkText(b *testing.B) {
	for _, d := range benchDocs(b) {
		b.Run(d.name+"/ours", func(b *testing.B) {
			b.SetBytes(int64(len(d.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Text(context.Background(), d.data, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
			report(b, d)
		})
		b.Run(d.name+"/ledongthuc", func(b *testing.B) {
			b.SetBytes(int64(len(d.data)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := lpdf.NewReader(bytes.NewReader(d.data), int64(len(d.data)))
				if err != nil {
					b.Fatal(err)
				}
				for i := 1; i <= r.NumPage(); i++ {
					if _, err := r.Page(i).GetPlainText(nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, d)
		})
	}
}

// BenchmarkExtractPages writes one page of each document, with this
// package and with pdfcpu's Trim, side by side.
func BenchmarkExtractPages(b *testing.B) {
	for _, d := range benchDocs(b) {
		b.Run(d.name+"/ours", func(b *testing.B) {
			b.SetBytes(int64(len(d.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ExtractPages(context.Background(), d.data, []int{d.pages}, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/pdfcpu", func(b *testing.B) {
			b.SetBytes(int64(len(d.data)))
			b.ReportAllocs()
			conf := model.NewDefaultConfiguration()
			conf.ValidationMode = model.ValidationRelaxed
			for b.Loop() {
				var out bytes.Buffer
				if err := api.Trim(bytes.NewReader(d.data), &out, []string{strconv.Itoa(d.pages)}, conf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
