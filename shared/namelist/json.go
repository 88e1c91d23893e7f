package namelist

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxJSONDepth bounds nested values we skip; a list needs depth 2.
const maxJSONDepth = 64

func jsonCorrupt(err error, format string, args ...any) *ReadError {
	return readErr(CodeCorrupt, err, "Il file JSON non è un elenco di persone: "+format, args...)
}

// readJSON streams an array of objects with the Token API, in two passes
// over the in-memory text: the first checks the structure and collects the
// keys (so missing columns fail before any row is delivered, even when
// exporters omit empty keys), the second delivers rows.
func readJSON(text []byte, opts Options, fn func(Row) error) (Header, error) {
	h := Header{Format: FormatJSON}
	var keys []string
	keyIndex := map[string]int{}
	err := scanJSON(text, func(int) {}, func(k string) int {
		if i, ok := keyIndex[k]; ok {
			return i
		}
		keyIndex[k] = len(keys)
		keys = append(keys, k)
		return -1
	}, nil)
	if err != nil {
		return h, err
	}
	if len(keys) == 0 {
		return h, readErr(CodeNoHeader, nil, "L'elenco JSON è vuoto o i suoi oggetti non hanno campi. Ogni persona deve avere i campi %s.", expectedColumns())
	}
	m, err := buildHeader(&h, keys, 0)
	if err != nil {
		var re *ReadError
		if errors.As(err, &re) && re.Code == CodeNoHeader {
			re.Message = "Nessun campo degli oggetti JSON corrisponde a quelli previsti (" + expectedColumns() + "). Campi trovati: " + quoteList(keys[:min(len(keys), 5)]) + "."
		}
		return h, err
	}
	m.maxRows = opts.MaxRows
	cells := make([]string, len(keys))
	var notes []Note
	err = scanJSON(text, func(pos int) {
		clear(cells)
		notes = nil
	}, func(k string) int { return keyIndex[k] }, func(pos int, end bool, col int, v string, bad string) error {
		if !end {
			if bad != "" {
				if f := m.cols[col]; f >= 0 {
					notes = append(notes, Note{Field: Fields[f], Message: "Valore non valido: " + bad + " invece di un testo; il campo è stato lasciato vuoto."})
				}
				return nil
			}
			cells[col] = v
			return nil
		}
		r, ok := m.row(pos, cells)
		if !ok {
			return nil
		}
		if notes != nil {
			r.Notes = append(notes, r.Notes...)
		}
		return m.emit(r, fn)
	})
	return h, err
}

// scanJSON walks [ {k: v, ...}, ... ]. start is called at each object (1-based
// position), key maps a key to a column, val receives each scalar value
// (bad describes a non-scalar) and, with end=true, the end of each object.
// val == nil means a structure-only pass.
func scanJSON(text []byte, start func(pos int), key func(string) int, val func(pos int, end bool, col int, v, bad string) error) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return jsonSyntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return jsonCorrupt(nil, "deve iniziare con «[» e contenere un oggetto {…} per ogni persona.")
	}
	pos := 0
	for dec.More() {
		pos++
		tok, err := dec.Token()
		if err != nil {
			return jsonSyntax(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return jsonCorrupt(nil, "l'elemento %d non è un oggetto {…}.", pos)
		}
		start(pos)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return jsonSyntax(err)
			}
			k, _ := kt.(string)
			col := key(k)
			vt, err := dec.Token()
			if err != nil {
				return jsonSyntax(err)
			}
			var v, bad string
			switch t := vt.(type) {
			case string:
				v = t
			case json.Number:
				v = formatNumber(t)
			case nil:
			case bool:
				bad = "un valore vero/falso"
			case json.Delim:
				bad = "un elenco"
				if t == '{' {
					bad = "un oggetto"
				}
				if err := skipJSON(dec); err != nil {
					return err
				}
			}
			if val != nil {
				if err := val(pos, false, col, v, bad); err != nil {
					return err
				}
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return jsonSyntax(err)
		}
		if val != nil {
			if err := val(pos, true, 0, "", ""); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return jsonSyntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonCorrupt(err, "dopo la «]» finale ci sono altri dati.")
	}
	return nil
}

// skipJSON consumes the rest of a nested value whose opening delimiter was read.
func skipJSON(dec *json.Decoder) error {
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return jsonSyntax(err)
		}
		if d, ok := t.(json.Delim); ok {
			if d == '[' || d == '{' {
				depth++
				if depth > maxJSONDepth {
					return jsonCorrupt(nil, "contiene valori annidati troppo in profondità.")
				}
			} else {
				depth--
			}
		}
	}
	return nil
}

func jsonSyntax(err error) *ReadError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return readErr(CodeCorrupt, err, "Il file JSON non è valido (errore vicino al carattere %d).", se.Offset)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return readErr(CodeCorrupt, err, "Il file JSON è incompleto: manca la parte finale.")
	}
	return readErr(CodeCorrupt, err, "Il file JSON non è valido.")
}

// formatNumber writes a JSON number without exponent (29221 → "29221",
// 2.9221e4 → "29221").
func formatNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, "eE") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}
