package namelist

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
)

const benchRows = 100_000

var benchHeader = []string{"Cognome", "Nome", "Sesso", "Data di nascita", "Comune di nascita", "Provincia", "Codice fiscale", "Paternità"}

var surnames = []string{"Rossi", "Colombo", "D'Angelo", "Esposito", "Nicolò", "Bianchi", "Ferrari", "Romano"}
var places = []string{"Forlì", "Roma", "Milano", "Cantù", "Napoli", "Città di Castello", "Torino", "Bari"}

func benchRecord(i int) []string {
	return []string{surnames[i%8], "Mario Luigi", "MF"[i%2 : i%2+1], fmt.Sprintf("%02d/%02d/19%02d", i%28+1, i%12+1, i%100),
		places[(i/8)%8], "FC", fmt.Sprintf("RSSMRA%02dA01H%03dU", i%100, i%1000), "Giuseppe"}
}

var benchCSV = sync.OnceValues(func() (utf8CSV, cp1252CSV []byte) {
	var b strings.Builder
	b.WriteString(strings.Join(benchHeader, ";") + "\r\n")
	for i := range benchRows {
		b.WriteString(strings.Join(benchRecord(i), ";") + "\r\n")
	}
	s := b.String()
	w, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return []byte(s), []byte(w)
})

func xlsxRows(date func(i int) any) [][]any {
	rows := make([][]any, benchRows)
	for i := range rows {
		rec := benchRecord(i)
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		row[3] = date(i)
		rows[i] = row
	}
	return rows
}

// benchXLSXStream is written by excelize's StreamWriter (inline strings).
var benchXLSXStream = sync.OnceValues(func() ([]byte, error) {
	return GenerateXLSX(benchHeader, xlsxRows(func(i int) any { return 20000 + i%20000 }))
})

// benchXLSXShared is stored as Excel does: a shared-string table.
var benchXLSXShared = sync.OnceValues(func() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	hdr := make([]any, len(benchHeader))
	for i, v := range benchHeader {
		hdr[i] = v
	}
	if err := f.SetSheetRow("Sheet1", "A1", &hdr); err != nil {
		return nil, err
	}
	for i, r := range xlsxRows(func(i int) any { return 20000 + i%20000 }) {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		for j, v := range r {
			if s, ok := v.(string); ok {
				// SetCellStr stores in the shared-string table.
				c, _ := excelize.CoordinatesToCellName(j+1, i+2)
				if err := f.SetCellStr("Sheet1", c, s); err != nil {
					return nil, err
				}
				continue
			}
			c, _ := excelize.CoordinatesToCellName(j+1, i+2)
			if err := f.SetCellValue("Sheet1", c, v); err != nil {
				return nil, err
			}
		}
		_ = cell
	}
	var buf bytes.Buffer
	err := f.Write(&buf)
	return buf.Bytes(), err
})

func benchRead(b *testing.B, name string, data []byte) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		n := 0
		_, err := Read(name, bytes.NewReader(data), Options{}, func(Row) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		if n != benchRows {
			b.Fatalf("%d rows", n)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadCSV(b *testing.B) {
	u, w := benchCSV()
	b.Run("utf-8", func(b *testing.B) { benchRead(b, "x.csv", u) })
	b.Run("windows-1252", func(b *testing.B) { benchRead(b, "x.csv", w) })
}

func BenchmarkReadXLSX(b *testing.B) {
	for _, c := range []struct {
		name string
		gen  func() ([]byte, error)
	}{{"stream-writer", benchXLSXStream}, {"shared-strings", benchXLSXShared}} {
		b.Run(c.name, func(b *testing.B) {
			data, err := c.gen()
			if err != nil {
				b.Fatal(err)
			}
			benchRead(b, "x.xlsx", data)
		})
	}
}
