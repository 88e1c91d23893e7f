package namelist

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Column classes beyond the real fields: a foreign-state column whose field
// depends on the other columns, and a combined "Cognome e nome" column.
const (
	classCountry  = -2
	classCombined = -3
)

// synonyms maps a header key (see headerKey) to a field index or class.
var synonyms = func() map[string]int {
	m := map[string]int{}
	add := func(f int, names ...string) {
		for _, n := range names {
			k := headerKey(n)
			if _, dup := m[k]; dup {
				panic("namelist: duplicate synonym " + n)
			}
			m[k] = f
		}
	}
	add(Surname.Index(), "Cognome", "Cognomi", "Surname", "Surnames", "Last name", "Family name")
	add(Name.Index(), "Nome", "Nomi", "Name", "First name", "Given name", "Given names", "Prenome")
	add(Sex.Index(), "Sesso", "Genere", "Sex", "Gender", "M/F")
	add(BirthDate.Index(), "Data di nascita", "Data nascita", "Nato il", "Nata il", "Nato/a il", "Nata/o il",
		"Birth date", "Date of birth", "DOB", "Data di nascita gg/mm/aaaa")
	add(BirthPlace.Index(), "Comune o Stato di nascita", "Comune o Stato estero di nascita", "Comune/Stato di nascita",
		"Comune o Stato", "Luogo di nascita", "Luogo nascita", "Comune di nascita", "Comune nascita", "Comune",
		"Città di nascita", "Nato a", "Nata a", "Nato/a a", "Nata/o a", "Birth place", "Place of birth")
	add(classCountry, "Stato di nascita", "Stato estero di nascita", "Stato estero", "Nazione di nascita",
		"Nazione", "Stato", "Paese di nascita", "Birth country", "Country of birth", "Birth state")
	add(Province.Index(), "Provincia di nascita", "Provincia", "Prov", "Prov. di nascita", "Provincia nascita",
		"Prov. nascita", "Sigla provincia", "Sigla prov.", "Birth province", "Province")
	add(FiscalCode.Index(), "Codice fiscale", "CF", "Cod. fiscale", "Cod. fisc.", "Fiscal code", "Tax code")
	add(FatherName.Index(), "Paternità", "Nome del padre", "Nome padre", "Padre", "Father name", "Father's name", "Father")
	add(classCombined, "Cognome e nome", "Nome e cognome", "Cognome nome", "Nome cognome", "Nominativo",
		"Cognome e nomi", "Full name")
	return m
}()

// headerKey folds a header cell for matching: lower case, accents removed,
// everything but letters and digits dropped ("Nato/a il" → "natoail",
// "birth_date" → "birthdate", "C.F." → "cf").
func headerKey(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// matchHeader returns the field index or class for a header cell, ok=false
// when unknown. A parenthetical is tried first as part of the name
// ("Stato (estero) di nascita"), then dropped ("Data di nascita (gg/mm/aaaa)").
func matchHeader(cell string) (int, bool) {
	if len(cell) > 200 { // no header is this long; avoids folding huge cells
		return 0, false
	}
	if f, ok := synonyms[headerKey(cell)]; ok {
		return f, true
	}
	if strings.ContainsAny(cell, "([") {
		if f, ok := synonyms[headerKey(dropParens(cell))]; ok {
			return f, true
		}
	}
	return 0, false
}

func dropParens(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch r {
		case '(', '[':
			depth++
		case ')', ']':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// Column kinds in mapper.cols besides field indexes.
const (
	colIgnored  = -1 // named but unknown or duplicate column: warned once in the header
	colNoHeader = -2 // empty header cell: content there is noted per row
)

// mapper turns cells into rows once the header is known.
type mapper struct {
	cols    []int8 // per column: field index, colIgnored or colNoHeader
	csv     bool   // notes mention quoting problems
	maxRows int
	rows    int
}

// buildHeader maps the header cells. headerRow is the row number, used in messages.
func buildHeader(h *Header, cells []string, headerRow int) (*mapper, error) {
	type col struct {
		idx   int
		class int
		text  string
	}
	var matched []col
	var combined string
	hasPlace := false
	m := &mapper{cols: make([]int8, len(cells))}
	known := 0
	for i, c := range cells {
		t := strings.TrimSpace(c)
		if t == "" {
			m.cols[i] = colNoHeader
			continue
		}
		f, ok := matchHeader(t)
		if !ok {
			m.cols[i] = colIgnored
			h.Warnings = append(h.Warnings, fmt.Sprintf("Colonna «%s» ignorata: non è tra quelle previste.", clip(t)))
			continue
		}
		known++
		if f == classCombined {
			m.cols[i] = colIgnored
			if combined == "" {
				combined = t
			}
			continue
		}
		if f == BirthPlace.Index() {
			hasPlace = true
		}
		matched = append(matched, col{i, f, t})
	}
	if known == 0 {
		return nil, noHeaderErr(cells, headerRow)
	}
	h.Columns = make(map[Field]string, NumFields)
	for _, c := range matched {
		f := c.class
		if f == classCountry {
			// A foreign-state column is the birth place unless a comune column exists.
			f = BirthPlace.Index()
			if hasPlace {
				f = BirthCountry.Index()
			}
		}
		if prev, dup := h.Columns[Fields[f]]; dup {
			m.cols[c.idx] = colIgnored
			h.Warnings = append(h.Warnings, fmt.Sprintf("Colonna «%s» ignorata: il dato (%s) è già nella colonna «%s».", clip(c.text), Fields[f].label(), clip(prev)))
			continue
		}
		h.Columns[Fields[f]] = c.text
		m.cols[c.idx] = int8(f)
	}
	var missing []string
	for _, f := range []Field{Surname, Name, Sex, BirthDate, BirthPlace} {
		if _, ok := h.Columns[f]; !ok {
			missing = append(missing, f.label())
		}
	}
	_, hasS := h.Columns[Surname]
	_, hasN := h.Columns[Name]
	if combined != "" && hasS && hasN {
		h.Warnings = append(h.Warnings, fmt.Sprintf("Colonna «%s» ignorata: si usano le colonne separate «%s» e «%s».", clip(combined), h.Columns[Surname], h.Columns[Name]))
	}
	if len(missing) > 0 {
		msg := "Mancano le colonne obbligatorie: " + strings.Join(missing, ", ") + "."
		if combined != "" && (!hasS || !hasN) {
			msg += fmt.Sprintf(" La colonna «%s» contiene cognome e nome insieme: dividerla in due colonne separate, «Cognome» e «Nome».", clip(combined))
		}
		if headerRow > 0 {
			msg += fmt.Sprintf(" Controllare i nomi delle colonne nella riga %d.", headerRow)
		}
		return nil, &ReadError{Code: CodeMissingColumns, Message: msg}
	}
	return m, nil
}

func expectedColumns() string {
	return "obbligatorie: Cognome, Nome, Sesso, Data di nascita, Comune o Stato di nascita; facoltative: Provincia di nascita, Codice fiscale, Paternità"
}

func noHeaderErr(cells []string, headerRow int) *ReadError {
	var seen []string
	for _, c := range cells {
		if t := strings.TrimSpace(c); t != "" {
			seen = append(seen, "«"+clip(t)+"»")
			if len(seen) == 4 {
				seen = append(seen, "…")
				break
			}
		}
	}
	return readErr(CodeNoHeader, nil,
		"La prima riga non vuota del file (riga %d) deve contenere i nomi delle colonne (%s), ma contiene: %s. Aggiungere una riga di intestazione in cima all'elenco.",
		headerRow, expectedColumns(), strings.Join(seen, ", "))
}

// clip shortens text quoted in messages.
func clip(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

// row fills a Row from cells; ok=false when the row has nothing to read:
// every mapped cell and every header-less cell is empty. Content only in
// ignored columns (e.g. a pre-numbered "N." column of a template) does not
// make a person.
func (m *mapper) row(number int, cells []string) (Row, bool) {
	var r Row
	r.Number = number
	filled := false
	var extra []string
	for i, c := range cells {
		kind := int8(colNoHeader)
		if i < len(m.cols) {
			kind = m.cols[i]
			if kind == colIgnored {
				continue
			}
		}
		v := strings.TrimSpace(c)
		if v == "" {
			continue
		}
		filled = true
		if kind >= 0 {
			r.Values[kind] = v
			if strings.IndexByte(v, '\n') >= 0 {
				r.Notes = append(r.Notes, m.newlineNote(Fields[kind]))
			}
			continue
		}
		extra = append(extra, v)
	}
	if !filled {
		return r, false
	}
	if len(extra) > 0 {
		r.Notes = append(r.Notes, extraNote(extra))
	}
	return r, true
}

func (m *mapper) newlineNote(f Field) Note {
	msg := "La cella contiene un ritorno a capo."
	if m.csv {
		msg += " Se contiene più dati, probabilmente nel file manca una virgoletta (\") di chiusura."
	}
	return Note{Field: f, Message: msg}
}

func extraNote(extra []string) Note {
	var q []string
	for i, v := range extra {
		if i == 3 {
			q = append(q, "…")
			break
		}
		q = append(q, "«"+clip(v)+"»")
	}
	return Note{Message: fmt.Sprintf("Valori in colonne senza intestazione, ignorati: %s. Controllare che la riga non abbia celle spostate o separatori in più.", strings.Join(q, ", "))}
}

// emit counts and delivers a row, enforcing MaxRows.
func (m *mapper) emit(r Row, fn func(Row) error) error {
	m.rows++
	if m.rows > m.maxRows {
		return tooManyRows(m.maxRows)
	}
	return fn(r)
}
