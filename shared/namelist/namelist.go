// Package namelist reads the lists of people that municipal offices upload
// (CSV, XLSX or JSON, as a clerk writes them) into rows of raw strings.
// It does not validate values: it only finds the columns and the cells.
package namelist

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
)

// Field is a column of the list the reader knows about.
type Field string

const (
	Surname      Field = "surname"
	Name         Field = "name"
	Sex          Field = "sex"
	BirthDate    Field = "birth_date"
	BirthPlace   Field = "birth_place"
	BirthCountry Field = "birth_country" // only when the file has a separate foreign-state column beside a comune column
	Province     Field = "province"
	FiscalCode   Field = "fiscal_code"
	FatherName   Field = "father_name"
)

// Fields lists the fields in the index order of Row.Values.
var Fields = [...]Field{Surname, Name, Sex, BirthDate, BirthPlace, BirthCountry, Province, FiscalCode, FatherName}

// NumFields is len(Fields).
const NumFields = 9

// Compile-time check that NumFields and Fields agree.
var _ = [1]struct{}{}[len(Fields)-NumFields]

// Index returns the position of f in Fields (and Row.Values), or -1.
func (f Field) Index() int {
	switch f {
	case Surname:
		return 0
	case Name:
		return 1
	case Sex:
		return 2
	case BirthDate:
		return 3
	case BirthPlace:
		return 4
	case BirthCountry:
		return 5
	case Province:
		return 6
	case FiscalCode:
		return 7
	case FatherName:
		return 8
	}
	return -1
}

// label is the Italian column name shown to clerks.
func (f Field) label() string {
	switch f {
	case Surname:
		return "Cognome"
	case Name:
		return "Nome"
	case Sex:
		return "Sesso"
	case BirthDate:
		return "Data di nascita"
	case BirthPlace:
		return "Comune o Stato di nascita"
	case BirthCountry:
		return "Stato estero di nascita"
	case Province:
		return "Provincia di nascita"
	case FiscalCode:
		return "Codice fiscale"
	case FatherName:
		return "Paternità"
	}
	return string(f)
}

// Format is the detected kind of file.
type Format string

const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
	FormatJSON Format = "json"
)

// Options bounds the work Read does; zero values mean the defaults.
type Options struct {
	MaxBytes        int64  // default 10 MiB; the file itself
	MaxUncompressed int64  // xlsx: bound on the decompressed size of the zip's parts; default 100 MiB
	MaxRows         int    // default 100_000 data rows; more → error
	Sheet           string // xlsx: sheet name; default the first sheet
}

const (
	DefaultMaxBytes        = 10 << 20
	DefaultMaxUncompressed = 100 << 20
	DefaultMaxRows         = 100_000
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxUncompressed <= 0 {
		o.MaxUncompressed = DefaultMaxUncompressed
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	return o
}

// Row is one non-empty data row.
type Row struct {
	Number int               // row number as the user sees it (header on line 1 → first data row 2); JSON: 1-based array position
	Values [NumFields]string // raw cell text, trimmed; "" when absent
	Notes  []Note            // problems seen while reading this row; nil in the common case
}

// Note is a problem the reader saw in a row. Field may be "" for the whole row.
type Note struct {
	Field   Field
	Message string // Italian, for the clerk
}

// Header describes the file as detected.
type Header struct {
	Format    Format
	Encoding  string           // csv: "utf-8", "utf-8-bom", "windows-1252", "utf-16le", "utf-16be"; "" otherwise
	Delimiter rune             // csv only
	Columns   map[Field]string // header text matched for each field present
	Warnings  []string         // Italian
	HeaderRow int              // spreadsheet row of the header (0 for JSON)
}

// ReadError codes.
const (
	CodeUnsupported    = "unsupported"
	CodeEncoding       = "encoding"
	CodeNoHeader       = "no_header"
	CodeMissingColumns = "missing_columns"
	CodeTooLarge       = "too_large"
	CodeCorrupt        = "corrupt"
)

// ReadError is a file-level failure: the file cannot be read as a list at all.
type ReadError struct {
	Code    string
	Message string // Italian, for the clerk
	Err     error  // cause, for logs
}

func (e *ReadError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("namelist: %s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("namelist: %s: %s", e.Code, e.Message)
}

func (e *ReadError) Unwrap() error { return e.Err }

func readErr(code string, err error, format string, args ...any) *ReadError {
	return &ReadError{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

var (
	magicZip  = []byte("PK\x03\x04")
	magicZipE = []byte("PK\x05\x06") // empty archive
	magicOLE2 = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Read detects the format from the content (name's extension is only a hint
// for messages), and calls fn for each non-empty data row in order. If fn
// returns an error, Read stops and returns it unchanged.
func Read(name string, r io.Reader, opts Options, fn func(Row) error) (Header, error) {
	opts = opts.withDefaults()
	// The whole file is bounded (10 MiB by default), so holding it lets us
	// sniff format and encoding and hand excelize a ReaderAt without copies.
	data, err := readLimited(r, opts.MaxBytes)
	if err != nil {
		return Header{}, readErr(CodeCorrupt, err, "Impossibile leggere il file.")
	}
	if int64(len(data)) > opts.MaxBytes {
		return Header{}, readErr(CodeTooLarge, nil, "Il file supera la dimensione massima consentita (%s).", sizeLabel(opts.MaxBytes))
	}
	ext := strings.ToLower(filepath.Ext(name))
	if len(bytes.TrimSpace(data)) == 0 {
		return Header{}, noHeaderEmpty()
	}
	switch {
	case bytes.HasPrefix(data, magicZip) || bytes.HasPrefix(data, magicZipE):
		return readXLSX(data, opts, fn)
	case bytes.HasPrefix(data, magicOLE2):
		return Header{}, readErr(CodeUnsupported, nil, "Il file è nel vecchio formato Excel 97-2003 (.xls) oppure è protetto da password: aprirlo in Excel e salvarlo come «Cartella di lavoro di Excel (.xlsx)» senza password, oppure come CSV.")
	case bytes.HasPrefix(data, []byte("%PDF")):
		return Header{}, readErr(CodeUnsupported, nil, "Il file è un PDF: caricare l'elenco come foglio Excel (.xlsx) o CSV.")
	}
	if kind := binaryKind(data); kind != "" {
		return Header{}, readErr(CodeUnsupported, nil, "Il file non è un elenco (sembra %s): caricare un foglio Excel (.xlsx) o un file CSV.", kind)
	}
	text, enc, warn, rerr := decodeText(data)
	if rerr != nil {
		if ext == ".xlsx" || ext == ".xls" {
			rerr.Message += " (Il nome del file indica un foglio Excel, ma il contenuto non lo è.)"
		}
		return Header{}, rerr
	}
	switch firstNonSpace(text) {
	case '[', '{':
		h, err := readJSON(text, opts, fn)
		return h, err
	case '<':
		return Header{}, readErr(CodeUnsupported, nil, "Il file è una pagina HTML o un documento XML, non un elenco: aprirlo in Excel e salvarlo come .xlsx o CSV.")
	}
	h, err := readCSV(text, enc, opts, fn)
	if warn != "" {
		h.Warnings = append([]string{warn}, h.Warnings...)
	}
	return h, err
}

// readLimited reads at most max+1 bytes, sizing the buffer from the reader
// when it knows its length (avoids io.ReadAll's repeated growth).
func readLimited(r io.Reader, max int64) ([]byte, error) {
	size := int64(64 << 10)
	switch v := r.(type) {
	case interface{ Len() int }:
		size = int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(size, max)+bytes.MinRead+1))
	_, err := buf.ReadFrom(io.LimitReader(r, max+1))
	return buf.Bytes(), err
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// binaryKind names common non-text files that are not worth decoding.
func binaryKind(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0x1F, 0x8B}):
		return "un archivio compresso (gzip)"
	case bytes.HasPrefix(b, []byte("Rar!")), bytes.HasPrefix(b, []byte("7z\xBC\xAF\x27\x1C")):
		return "un archivio compresso"
	case bytes.HasPrefix(b, []byte("\x89PNG")), bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}), bytes.HasPrefix(b, []byte("GIF8")):
		return "un'immagine"
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return "un documento RTF"
	}
	return ""
}

func sizeLabel(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d byte", n)
}

func noHeaderEmpty() *ReadError {
	return readErr(CodeNoHeader, nil, "Il file è vuoto. La prima riga deve contenere i nomi delle colonne (%s).", expectedColumns())
}

func tooManyRows(max int) *ReadError {
	return readErr(CodeTooLarge, nil, "Il file contiene più di %d righe di dati: dividerlo in più file.", max)
}
