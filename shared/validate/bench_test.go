package validate

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/namelist"
)

const benchRows = 100_000

var (
	benchSurnames = []string{"Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "D'Angelo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri"}
	benchNames    = []string{"Mario", "Luigi", "Giuseppe", "Anna", "Maria", "Francesca", "Paolo", "Giovanni", "Lucia", "Chiara", "Nicolò", "Gianfranco", "Elena", "Sara", "Marco", "Luca"}
	benchPlaces   = [][2]string{{"Prato", "PO"}, {"Roma", "RM"}, {"Firenze", "FI"}, {"Milano", "MI"}, {"Napoli", "NA"}, {"Vaiano", "PO"}, {"Montemurlo", "PO"}, {"Pistoia", "PT"}, {"Germania", ""}, {"Albania", ""}, {"Romania", ""}, {"Cina", ""}, {"Forlì", "FC"}, {"Sant'Angelo Lodigiano", "LO"}}
)

// benchPeople returns n rows as an office would write them, one in ten with its codice fiscale.
func benchPeople(n int) [][]string {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([][]string, n)
	for i := range rows {
		sur, name := benchSurnames[r.IntN(len(benchSurnames))], benchNames[r.IntN(len(benchNames))]
		sex := domain.Male
		if r.IntN(2) == 0 {
			sex = domain.Female
		}
		d := domain.Date{Year: 1940 + r.IntN(65), Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)}
		p := benchPlaces[r.IntN(len(benchPlaces))]
		cf := ""
		if i%10 == 0 {
			code := map[string]string{"Prato": "G999", "Roma": "H501"}[p[0]]
			if code != "" {
				cf = fiscalcode.Compute(sur, name, sex, d, code)
			}
		}
		rows[i] = []string{sur, name, string(sex), d.Italian(), p[0], p[1], cf}
	}
	return rows
}

var benchHeader = []string{"Cognome", "Nome", "Sesso", "Data di nascita", "Comune o Stato di nascita", "Provincia", "Codice fiscale"}

func benchCSV(rows [][]string) []byte {
	var b bytes.Buffer
	for i, h := range benchHeader {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(h)
	}
	b.WriteString("\r\n")
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(c)
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func benchXLSX(b *testing.B, rows [][]string) []byte {
	cells := make([][]any, len(rows))
	for i, r := range rows {
		c := make([]any, len(r))
		for j, v := range r {
			c[j] = v
		}
		// Dates as Excel stores them: a serial number.
		d, _ := parseDate(r[3])
		c[3] = int(d.Time().Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24)
		cells[i] = c
	}
	data, err := namelist.GenerateXLSX(benchHeader, cells)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkValidateFile validates a 100,000-row list, read and checked end to end, and
// reports rows/s, allocations per row and the peak live heap.
func BenchmarkValidateFile(b *testing.B) {
	rows := benchPeople(benchRows)
	inputs := []struct {
		name string
		file string
		data []byte
	}{
		{"csv", "elenco.csv", benchCSV(rows)},
		{"xlsx", "elenco.xlsx", benchXLSX(b, rows)},
	}
	today := domain.Date{Year: 2026, Month: time.November, Day: 25}
	_ = New(Options{}) // build the places index outside the timer, as a warm Lambda has it
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			runtime.GC()
			base := liveHeap()
			peak := samplePeakHeap()
			for b.Loop() {
				rep, err := File(in.file, bytes.NewReader(in.data), Options{Today: today, Read: namelist.Options{MaxBytes: 64 << 20}})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Summary.Rows != benchRows || rep.Summary.Valid < benchRows*9/10 {
					b.Fatalf("unexpected summary %+v", rep.Summary)
				}
			}
			heap := peak() - base // what validating one list adds to the heap at its highest
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(allocsPerRow(b, in.file, in.data, today), "allocs/row")
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
		})
	}
}

func allocsPerRow(b *testing.B, file string, data []byte, today domain.Date) float64 {
	allocs := testing.AllocsPerRun(1, func() {
		if _, err := File(file, bytes.NewReader(data), Options{Today: today, Read: namelist.Options{MaxBytes: 64 << 20}}); err != nil {
			b.Fatal(err)
		}
	})
	return allocs / benchRows
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// samplePeakHeap samples the live heap every millisecond until the returned function
// is called, and returns the highest value seen.
func samplePeakHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		defer close(stopped)
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}
