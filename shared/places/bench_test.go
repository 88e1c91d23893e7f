package places

import (
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// BenchmarkResolve is the common case: a known name, with its province.
func BenchmarkResolve(b *testing.B) {
	ix := Default()
	born := domain.Date{Year: 1970, Month: time.March, Day: 2}
	inputs := []struct{ place, prov string }{
		{"Prato", "PO"}, {"ROMA", ""}, {"Reggio nell'Emilia", "RE"}, {"Germania", ""}, {"Forlì", "FC"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		in := inputs[i%len(inputs)]
		if _, err := ix.Resolve(in.place, in.prov, born); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResolveMiss is the bounded scan behind a suggestion.
func BenchmarkResolveMiss(b *testing.B) {
	ix := Default()
	born := domain.Date{Year: 1970, Month: time.March, Day: 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ix.Resolve("Parto di Sopra", "", born); err == nil {
			b.Fatal("resolved")
		}
	}
}

// BenchmarkIndexBuild is what the first Default() call costs.
func BenchmarkIndexBuild(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := build(rawData, stateAliases[:]); err != nil {
			b.Fatal(err)
		}
	}
}
