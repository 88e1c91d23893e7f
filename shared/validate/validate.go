// Package validate checks the rows of a name list as an office wrote them and turns
// each valid row into a domain.Person: names normalised, sex, birth date, birthplace
// resolved to its cadastral code at the date of birth, codice fiscale computed or
// verified, duplicates found. Every problem of a row is reported at once, in Italian;
// no row is dropped.
package validate

import (
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/places"
)

// Field names of a Problem: a contract of the JSON report.
const (
	FieldSurname    = "surname"
	FieldName       = "name"
	FieldSex        = "sex"
	FieldBirthDate  = "birth_date"
	FieldBirthPlace = "birth_place"
	FieldProvince   = "province"
	FieldFiscalCode = "fiscal_code"
	FieldRow        = "row" // the row as a whole, and the optional father's name

)

// Problem is one error of a row, for the clerk.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Row is the outcome for one row of the list.
type Row struct {
	Row      int           `json:"row"` // as the spreadsheet shows it: header 1, first data row 2
	Valid    bool          `json:"valid"`
	Person   domain.Person `json:"person"`
	Errors   []Problem     `json:"errors"`
	Warnings []string      `json:"warnings"`
	// DuplicateOf is the row number of the first occurrence when this row repeats a person.
	DuplicateOf int `json:"duplicate_of,omitempty"`
}

// Summary counts the rows. Rows = Valid + Invalid; duplicates are among the invalid.
type Summary struct {
	Rows       int `json:"rows"`
	Valid      int `json:"valid"`
	Invalid    int `json:"invalid"`
	Duplicates int `json:"duplicates"`
}

// Report is the validation of a whole list.
type Report struct {
	Rows     []Row           `json:"rows"`
	Summary  Summary         `json:"summary"`
	Warnings []string        `json:"warnings"` // about the file: ignored columns and the like
	Header   namelist.Header `json:"-"`
}

// Options tune validation. The zero value is ready to use.
type Options struct {
	Today  domain.Date      // birth dates after it are refused; zero means today in Italy
	Places *places.Index    // nil means places.Default()
	Read   namelist.Options // size limits and sheet
}

// Validator checks rows one at a time and remembers people already seen, to find duplicates.
// It is not safe for concurrent use.
type Validator struct {
	today  domain.Date
	places *places.Index
	// seen finds duplicates: a hash of each person, pointing into keys, where
	// the full identity is kept to tell a real duplicate from a hash collision.
	// Small uint64 keys keep the map compact at 100,000 rows.
	seed maphash.Seed
	seen map[uint64]int32
	keys []personKey
	rows []int
}

// personKey identifies a person within one list, to find duplicates.
type personKey struct {
	surname, name string
	born          domain.Date
	place         string
}

// New returns a Validator.
func New(opts Options) *Validator {
	v := &Validator{today: opts.Today, places: opts.Places, seed: maphash.MakeSeed(), seen: make(map[uint64]int32, 1024)}
	if v.today.IsZero() {
		v.today = domain.DateOf(time.Now().In(rome()))
	}
	if v.places == nil {
		v.places = places.Default()
	}
	return v
}

// File reads a name list and validates every row. The error is a *namelist.ReadError
// when the file cannot be read as a list at all.
func File(name string, r io.Reader, opts Options) (*Report, error) {
	v := New(opts)
	rep := &Report{Warnings: []string{}}
	// Rows gather in fixed-size chunks, copied once at the end: appending 100,000
	// results to one slice would copy them over and over as it grows.
	const chunk = 4096
	var chunks [][]Row
	h, err := namelist.Read(name, r, opts.Read, func(nr namelist.Row) error {
		if len(chunks) == 0 || len(chunks[len(chunks)-1]) == chunk {
			chunks = append(chunks, make([]Row, 0, chunk))
		}
		res := v.Row(nr)
		rep.count(&res)
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], res)
		return nil
	})
	rep.Header = h
	if err != nil {
		return nil, err
	}
	rep.Rows = make([]Row, 0, rep.Summary.Rows)
	for _, c := range chunks {
		rep.Rows = append(rep.Rows, c...)
	}
	rep.Warnings = append(rep.Warnings, h.Warnings...)
	return rep, nil
}

func (rep *Report) count(r *Row) {
	rep.Summary.Rows++
	if r.Valid {
		rep.Summary.Valid++
	} else {
		rep.Summary.Invalid++
	}
	if r.DuplicateOf > 0 {
		rep.Summary.Duplicates++
	}
}

// Row validates one row.
func (v *Validator) Row(nr namelist.Row) Row {
	out := Row{Row: nr.Number, Errors: []Problem{}, Warnings: []string{}}
	val := func(f namelist.Field) string {
		s := nr.Values[f.Index()]
		if !utf8.ValidString(s) { // readers decode text; this guards other callers and echoes in messages
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		return s
	}
	fail := func(field, msg string) { out.Errors = append(out.Errors, Problem{field, msg}) }
	for _, n := range nr.Notes {
		out.Warnings = append(out.Warnings, n.Message)
	}
	p := &out.Person

	var msg string
	if p.Surname, msg = normalizeName(val(namelist.Surname), "Cognome"); msg != "" {
		fail(FieldSurname, msg)
	}
	if p.Name, msg = normalizeName(val(namelist.Name), "Nome"); msg != "" {
		fail(FieldName, msg)
	}
	if p.Sex, msg = parseSex(val(namelist.Sex)); msg != "" {
		fail(FieldSex, msg)
	}
	if p.BirthDate, msg = parseBirthDate(val(namelist.BirthDate), v.today); msg != "" {
		fail(FieldBirthDate, msg)
	}
	if f := strings.TrimSpace(val(namelist.FatherName)); f != "" {
		if p.FatherName, msg = normalizeName(f, "Paternità"); msg != "" {
			fail(FieldRow, msg) // the report's field list has no father's name
		}
	}
	v.birthplace(&out, val(namelist.BirthPlace), val(namelist.BirthCountry), val(namelist.Province))
	v.fiscalCode(&out, val(namelist.FiscalCode))

	if len(out.Errors) == 0 {
		if first := v.firstRow(personKey{p.Surname, p.Name, p.BirthDate, p.BirthPlaceCode}, nr.Number); first != 0 {
			out.DuplicateOf = first
			fail(FieldRow, "Persona già presente nell'elenco alla riga "+strconv.Itoa(first)+": la riga non viene inviata due volte")
		}
	}
	out.Valid = len(out.Errors) == 0
	return out
}

// firstRow returns the row where the person k was first seen, or 0 (and remembers
// row) when k is new. Hash collisions are followed by linear probing on the hash.
func (v *Validator) firstRow(k personKey, row int) int {
	h := maphash.Comparable(v.seed, k)
	for {
		i, ok := v.seen[h]
		if !ok {
			v.seen[h] = int32(len(v.keys))
			v.keys = append(v.keys, k)
			v.rows = append(v.rows, row)
			return 0
		}
		if v.keys[i] == k {
			return v.rows[i]
		}
		h++ // another person with the same hash: try the next slot
	}
}

// birthplace resolves the comune or foreign state of birth. A list may have one column
// for both, or a comune column and a foreign-state column; "Italia" in the latter is
// only a restatement.
func (v *Validator) birthplace(out *Row, place, country, province string) {
	place, country = strings.TrimSpace(place), strings.TrimSpace(country)
	switch {
	case place == "":
		place = country
	case country != "" && !isItaly(country):
		out.Errors = append(out.Errors, Problem{FieldBirthPlace,
			"Indicati sia il comune di nascita sia uno stato estero di nascita: compilare solo il comune (nati in Italia) o solo lo stato (nati all'estero)"})
		return
	}
	if isItaly(place) {
		out.Errors = append(out.Errors, Problem{FieldBirthPlace, "Luogo di nascita «Italia»: indicare il comune di nascita"})
		return
	}
	res, err := v.places.Resolve(place, province, out.Person.BirthDate)
	if err != nil {
		field, msg := FieldBirthPlace, err.Error()
		if re, ok := err.(*places.ResolveError); ok {
			field, msg = re.Field, re.Message
		}
		out.Errors = append(out.Errors, Problem{field, msg})
		return
	}
	out.Warnings = append(out.Warnings, res.Warnings...)
	out.Person.BirthPlace = res.Place.Name
	out.Person.BirthPlaceCode = res.Place.Code
	out.Person.Province = res.Place.Province
}

func isItaly(s string) bool {
	s = strings.TrimSpace(s)
	for _, w := range [...]string{"Italia", "Italy", "IT", "ITA", "Repubblica italiana"} {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// fiscalCode computes the code and, when the row gives one, checks it against the
// other fields. The code is computed only from fields that are themselves valid, so
// that one wrong field is reported once, where it is.
func (v *Validator) fiscalCode(out *Row, given string) {
	p := &out.Person
	complete := p.Surname != "" && p.Name != "" && p.Sex != "" && !p.BirthDate.IsZero() && p.BirthPlaceCode != ""
	given = fiscalcode.Normalize(given)
	if given == "" {
		if complete {
			p.FiscalCode = fiscalcode.Compute(p.Surname, p.Name, p.Sex, p.BirthDate, p.BirthPlaceCode)
		}
		return
	}
	p.FiscalCode = given
	if !complete {
		if _, err := fiscalcode.Parse(given); err != nil {
			out.Errors = append(out.Errors, Problem{FieldFiscalCode, fiscalMessage(err)})
		}
		return
	}
	for _, m := range fiscalcode.Verify(given, p.Surname, p.Name, p.Sex, p.BirthDate, p.BirthPlaceCode) {
		msg := m.Message // a fiscal_code mismatch message already names the code's problem
		if m.Field != FieldFiscalCode {
			msg = "Il codice fiscale non corrisponde " + fieldArticle(m.Field) + ": " + msg
		}
		out.Errors = append(out.Errors, Problem{FieldFiscalCode, msg})
	}
}

func fiscalMessage(err error) string {
	if e, ok := err.(*fiscalcode.Error); ok {
		return e.Message
	}
	return err.Error()
}

// fieldArticle names a field with its preposition, for "non corrisponde al cognome".
func fieldArticle(field string) string {
	switch field {
	case FieldSurname:
		return "al cognome"
	case FieldName:
		return "al nome"
	case FieldSex:
		return "al sesso"
	case FieldBirthDate:
		return "alla data di nascita"
	case FieldBirthPlace:
		return "al luogo di nascita"
	}
	return "ai dati"
}

// rome is Italy's time zone: "today" for a birth date is Italy's today.
var rome = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil { // no zoneinfo on the machine and no time/tzdata linked in
		return time.FixedZone("CET", 3600)
	}
	return loc
})
