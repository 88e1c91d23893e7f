// Package subjects writes and reads the "subjects file" attached to each request
// sent to the Procura: the list of people whose certificates are asked for.
//
// The layout of the Ministry's NSC-MASSIVE files is unknown, so the format is
// pluggable (Format). The default, "csv-dd2012", carries the fields of DD 5/12/2012
// art. 9: UTF-8, ';' separated, CRLF line ends, one header row
//
//	COGNOME;NOME;SESSO;DATA_NASCITA;COMUNE_NASCITA;STATO_NASCITA;CODICE_FISCALE;PATERNITA
//
// with DATA_NASCITA as GG/MM/AAAA, COMUNE_NASCITA the cadastral code of the comune
// of birth (empty for people born abroad) and STATO_NASCITA the Z code of the
// foreign state (empty for people born in Italy). CODICE_FISCALE is mandatory for
// people born in Italy, PATERNITA is optional.
//
// Errors are in English for operators and never quote the values of a row (they
// are personal data): they name the row and the column.
package subjects

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/cells"
	"github.com/casellario-pec/casellario/shared/domain"
)

// Format writes and reads one layout of the subjects file.
type Format interface {
	Name() string        // e.g. "csv-dd2012"
	FileName() string    // attachment name, e.g. "soggetti.csv"
	ContentType() string // e.g. "text/csv; charset=utf-8"
	Write(w io.Writer, people []domain.Person) error
	// Read returns the people of the file; on a malformed file it returns an
	// error saying which row and column are wrong.
	Read(r io.Reader) ([]domain.Person, error)
}

// Limits of Read: a request carries at most a few hundred people.
const (
	MaxPeople = 10000
	MaxBytes  = 16 << 20
)

// Header is the header row of the default CSV.
var Header = []string{"COGNOME", "NOME", "SESSO", "DATA_NASCITA", "COMUNE_NASCITA", "STATO_NASCITA", "CODICE_FISCALE", "PATERNITA"}

// Default returns the default format, csv-dd2012.
func Default() Format { return csvFormat{} }

// ByName returns the format called name ("" means the default).
func ByName(name string) (Format, error) {
	switch name {
	case "", "csv-dd2012":
		return csvFormat{}, nil
	}
	return nil, fmt.Errorf("subjects: unknown format %q (known: csv-dd2012)", name)
}

type csvFormat struct{}

func (csvFormat) Name() string        { return "csv-dd2012" }
func (csvFormat) FileName() string    { return "soggetti.csv" }
func (csvFormat) ContentType() string { return "text/csv; charset=utf-8" }

var (
	reComune = regexp.MustCompile(`^[A-Y][0-9]{3}$`)
	reStato  = regexp.MustCompile(`^Z[0-9]{3}$`)
	reCF     = regexp.MustCompile(`^[A-Z0-9]{16}$`)
)

// cellError reports a bad cell without its value.
func cellError(row int, col, why string) error {
	return fmt.Errorf("subjects: row %d, %s: %s", row, col, why)
}

func (csvFormat) Write(w io.Writer, people []domain.Person) error {
	if len(people) == 0 {
		return errors.New("subjects: no people to write")
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(Header); err != nil {
		return err
	}
	for i, p := range people {
		row := i + 2 // the header is row 1
		if p.Surname == "" || p.Name == "" {
			return cellError(row, "COGNOME/NOME", "empty")
		}
		if p.Sex != domain.Male && p.Sex != domain.Female {
			return cellError(row, "SESSO", "not M or F")
		}
		if p.BirthDate.IsZero() {
			return cellError(row, "DATA_NASCITA", "empty")
		}
		comune, stato := p.BirthPlaceCode, ""
		if p.BornAbroad() {
			comune, stato = "", p.BirthPlaceCode
		} else if !reComune.MatchString(comune) {
			return cellError(row, "COMUNE_NASCITA", "not a cadastral code")
		}
		if !p.BornAbroad() && p.FiscalCode == "" {
			return cellError(row, "CODICE_FISCALE", "mandatory for people born in Italy")
		}
		rec := []string{p.Surname, p.Name, string(p.Sex), p.BirthDate.Italian(), comune, stato, p.FiscalCode, p.FatherName}
		for j, v := range rec {
			if cells.Unsafe(v) {
				return cellError(row, Header[j], "starts with a character a spreadsheet reads as a formula")
			}
			if strings.ContainsAny(v, "\r\n") || !utf8.ValidString(v) {
				return cellError(row, Header[j], "contains a line break or invalid UTF-8")
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func (csvFormat) Read(r io.Reader) ([]domain.Person, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("subjects: reading: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("subjects: file larger than %d bytes", MaxBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		return nil, errors.New("subjects: file is not UTF-8 text")
	}
	cr := csv.NewReader(bufio.NewReader(bytes.NewReader(data)))
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("subjects: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("subjects: header: %w", err)
	}
	if len(head) != len(Header) {
		return nil, fmt.Errorf("subjects: header has %d columns, want %d (%s)", len(head), len(Header), strings.Join(Header, ";"))
	}
	for i, h := range head {
		if strings.ToUpper(strings.TrimSpace(h)) != Header[i] {
			return nil, fmt.Errorf("subjects: header column %d is not %s", i+1, Header[i])
		}
	}
	var people []domain.Person
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("subjects: row %d: malformed CSV (%v)", row, pe.Err)
			}
			return nil, fmt.Errorf("subjects: row %d: %w", row, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(people) >= MaxPeople {
			return nil, fmt.Errorf("subjects: more than %d people", MaxPeople)
		}
		p, err := parseRow(row, rec)
		if err != nil {
			return nil, err
		}
		people = append(people, p)
	}
	if len(people) == 0 {
		return nil, errors.New("subjects: no people in the file")
	}
	return people, nil
}

func parseRow(row int, rec []string) (domain.Person, error) {
	if len(rec) != len(Header) {
		return domain.Person{}, fmt.Errorf("subjects: row %d has %d columns, want %d", row, len(rec), len(Header))
	}
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
		if cells.Unsafe(rec[i]) {
			return domain.Person{}, cellError(row, Header[i], "starts with a character a spreadsheet reads as a formula")
		}
	}
	p := domain.Person{
		Surname: rec[0], Name: rec[1], Sex: domain.Sex(strings.ToUpper(rec[2])),
		FiscalCode: strings.ToUpper(rec[6]), FatherName: rec[7],
	}
	if p.Surname == "" {
		return p, cellError(row, "COGNOME", "empty")
	}
	if p.Name == "" {
		return p, cellError(row, "NOME", "empty")
	}
	if p.Sex != domain.Male && p.Sex != domain.Female {
		return p, cellError(row, "SESSO", "not M or F")
	}
	t, err := time.Parse("02/01/2006", rec[3])
	if err != nil {
		return p, cellError(row, "DATA_NASCITA", "not a date GG/MM/AAAA")
	}
	p.BirthDate = domain.DateOf(t)
	comune, stato := strings.ToUpper(rec[4]), strings.ToUpper(rec[5])
	switch {
	case comune != "" && stato != "":
		return p, cellError(row, "COMUNE_NASCITA/STATO_NASCITA", "both given; one only")
	case comune != "":
		if !reComune.MatchString(comune) {
			return p, cellError(row, "COMUNE_NASCITA", "not a cadastral code of a comune")
		}
		p.BirthPlaceCode = comune
	case stato != "":
		if !reStato.MatchString(stato) {
			return p, cellError(row, "STATO_NASCITA", "not a Z code of a foreign state")
		}
		p.BirthPlaceCode = stato
	default:
		return p, cellError(row, "COMUNE_NASCITA/STATO_NASCITA", "both empty")
	}
	if p.FiscalCode != "" && !reCF.MatchString(p.FiscalCode) {
		return p, cellError(row, "CODICE_FISCALE", "not 16 letters and digits")
	}
	if p.FiscalCode == "" && !p.BornAbroad() {
		return p, cellError(row, "CODICE_FISCALE", "mandatory for people born in Italy")
	}
	return p, nil
}
