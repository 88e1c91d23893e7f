// Command gen writes data_gen.go and LICENSES.md of package places from the
// cadastral-code dataset of the npm package @marketto/belfiore-connector-embedded.
//
// The decoding is a port of src/classes/belfiore-connector.class.ts of that package;
// -check compares the decoded rows with a TSV dump made by the package's own JS
// (code, name, province, iso, created, expired, source), so a new package version
// can be verified before its data is committed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"log"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

type block struct {
	BelfioreCode     string `json:"belfioreCode"`
	Name             string `json:"name"`
	CreationDate     string `json:"creationDate"`
	ExpirationDate   string `json:"expirationDate"`
	ProvinceOrCounty string `json:"provinceOrCountry"`
	DataSource       string `json:"dataSource"`
}

type license struct {
	Name               string `json:"name"`
	URL                string `json:"url"`
	License            string `json:"license"`
	LicenseURL         string `json:"licenseUrl"`
	TermsAndConditions string `json:"termsAndConditions"`
	Authors            string `json:"authors"`
}

type dataset struct {
	Data     []block   `json:"data"`
	Licenses []license `json:"licenses"`
	Sources  []string  `json:"sources"`
}

// row is one decoded place; to is zero when the place is still valid.
type row struct {
	code, name, prov string // prov: province (A..Y codes) or ISO 3166 alpha-2 (Z codes), as in the data
	from, to         time.Time
	source           int
}

// epoch is day 0 of the package's date encoding (ITALY_KINGDOM_BIRTHDATE).
var epoch = time.Date(1861, 1, 1, 0, 0, 0, 0, time.UTC)

// openEnded is what the package's default expiration "2qn13" decodes to.
var openEnded = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	in := flag.String("in", "", "cities-countries.ts of @marketto/belfiore-connector-embedded")
	out := flag.String("out", "data_gen.go", "Go file to write")
	lic := flag.String("licenses", "", "attribution file to write (default LICENSES.md beside -out)")
	check := flag.String("check", "", "optional TSV dump from the package's JS to compare the decoded rows with")
	flag.Parse()
	if *in == "" {
		log.Fatal("-in is required")
	}
	if *lic == "" {
		*lic = filepath.Join(filepath.Dir(*out), "LICENSES.md")
	}
	if err := run(*in, *out, *lic, *check); err != nil {
		log.Fatal(err)
	}
}

func run(in, out, lic, check string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	pkgDir := filepath.Dir(filepath.Dir(in)) // in is <pkg>/asset/cities-countries.ts
	var pkg struct{ Name, Version string }
	if b, err := os.ReadFile(filepath.Join(pkgDir, "package.json")); err != nil {
		return err
	} else if err := json.Unmarshal(b, &pkg); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}
	mit, err := os.ReadFile(filepath.Join(pkgDir, "LICENSE"))
	if err != nil {
		return err
	}
	ds, err := parseTS(src)
	if err != nil {
		return err
	}
	rows, err := decode(ds)
	if err != nil {
		return err
	}
	if check != "" {
		if err := compare(rows, ds.Licenses, check); err != nil {
			return err
		}
		log.Printf("%d rows identical to %s", len(rows), check)
	}
	repaired, err := clean(rows)
	if err != nil {
		return err
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.code, b.code) })
	slices.Sort(repaired)
	for i := 1; i < len(rows); i++ {
		if rows[i].code == rows[i-1].code {
			return fmt.Errorf("duplicate code %s", rows[i].code)
		}
	}
	id := pkg.Name + "@" + pkg.Version
	if err := os.WriteFile(out, goFile(id, rows), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(lic, licenses(id, pkg.Name, mit, ds, rows, repaired), 0o644); err != nil {
		return err
	}
	log.Printf("%s: %d places from %s; %d names repaired", out, len(rows), id, len(repaired))
	return nil
}

// parseTS turns the TS module (one object literal in JSON syntax) into a dataset.
func parseTS(src []byte) (*dataset, error) {
	s := string(src)
	const head = "const CITIES_COUNTRIES ="
	i := strings.Index(s, head)
	j := strings.LastIndex(s, "export default")
	if i < 0 || j < i {
		return nil, errors.New("unexpected layout: no 'const CITIES_COUNTRIES =' ... 'export default'")
	}
	body := strings.TrimSuffix(strings.TrimSpace(s[i+len(head):j]), ";")
	var ds dataset
	if err := json.Unmarshal([]byte(body), &ds); err != nil {
		return nil, fmt.Errorf("object literal is not JSON: %w", err)
	}
	if len(ds.Data) == 0 || len(ds.Licenses) == 0 {
		return nil, errors.New("no data or no licenses")
	}
	return &ds, nil
}

func decode(ds *dataset) ([]row, error) {
	var rows []row
	for bi, b := range ds.Data {
		if len(b.BelfioreCode)%3 != 0 {
			return nil, fmt.Errorf("block %d: belfioreCode length %d", bi, len(b.BelfioreCode))
		}
		n := len(b.BelfioreCode) / 3
		names := strings.Split(b.Name, "|")
		if len(names) != n {
			return nil, fmt.Errorf("block %d: %d codes, %d names", bi, n, len(names))
		}
		// dataSource: one base-32 number whose binary digits, left-padded to 2 per
		// entry, give each entry's licence index.
		srcBits := ""
		if b.DataSource != "" {
			v, ok := new(big.Int).SetString(b.DataSource, 32)
			if !ok {
				return nil, fmt.Errorf("block %d: bad dataSource", bi)
			}
			srcBits = v.Text(2)
		}
		if len(srcBits) < 2*n {
			srcBits = strings.Repeat("0", 2*n-len(srcBits)) + srcBits
		}
		for i := range n {
			v, err := strconv.ParseInt(b.BelfioreCode[3*i:3*i+3], 32, 32)
			if err != nil {
				return nil, fmt.Errorf("block %d entry %d: code: %w", bi, i, err)
			}
			code := fmt.Sprintf("%c%03d", 'A'+rune(v/1000), v%1000)
			if names[i] == "" {
				return nil, fmt.Errorf("%s: empty name", code)
			}
			prov := sub(b.ProvinceOrCounty, 2*i, 2)
			if len(prov) != 2 {
				return nil, fmt.Errorf("%s: no province/country", code)
			}
			from, err := day(sub(b.CreationDate, 4*i, 4), "0")
			if err != nil {
				return nil, fmt.Errorf("%s: creation: %w", code, err)
			}
			to, err := day(sub(b.ExpirationDate, 4*i, 4), "2qn13")
			if err != nil {
				return nil, fmt.Errorf("%s: expiration: %w", code, err)
			}
			if !to.Before(openEnded) {
				to = time.Time{}
			}
			li, err := strconv.ParseUint(srcBits[2*i:2*i+2], 2, 8)
			if err != nil || int(li) >= len(ds.Licenses) {
				return nil, fmt.Errorf("%s: data source %q", code, srcBits[2*i:2*i+2])
			}
			rows = append(rows, row{code: code, name: names[i], prov: prov, from: from, to: to, source: int(li)})
		}
	}
	return rows, nil
}

// sub is JS substring(i, i+n) clamped to s.
func sub(s string, i, n int) string {
	if i >= len(s) {
		return ""
	}
	return s[i:min(i+n, len(s))]
}

// day decodes a base-32 count of days since 1861-01-01; def stands in for a missing value.
func day(s, def string) (time.Time, error) {
	if s == "" {
		s = def
	}
	n, err := strconv.ParseInt(s, 32, 64)
	if err != nil {
		return time.Time{}, err
	}
	return epoch.AddDate(0, 0, int(n)), nil
}

// compare checks rows (before any repair) against the package's own output.
func compare(rows []row, lics []license, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			want[strings.SplitN(line, "\t", 2)[0]] = line
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	bad := 0
	for _, r := range rows {
		prov, iso := r.prov, ""
		if r.code[0] == 'Z' {
			prov, iso = "", r.prov
		}
		to := openEnded
		if !r.to.IsZero() {
			to = r.to
		}
		got := strings.Join([]string{r.code, r.name, prov, iso, r.from.Format(time.DateOnly), to.Format(time.DateOnly), lics[r.source].Name}, "\t")
		if want[r.code] != got {
			if bad++; bad <= 10 {
				log.Printf("mismatch:\n  js: %q\n  go: %q", want[r.code], got)
			}
		}
		delete(want, r.code)
	}
	if bad > 0 || len(want) > 0 {
		return fmt.Errorf("%d rows differ, %d rows only in %s", bad, len(want), path)
	}
	return nil
}

// clean repairs mojibake and checks what the Go side relies on; it returns the repairs.
func clean(rows []row) ([]string, error) {
	var repaired []string
	for i := range rows {
		r := &rows[i]
		if fixed, ok := unmojibake(r.name); ok {
			repaired = append(repaired, fmt.Sprintf("%s %q → %q", r.code, r.name, fixed))
			r.name = fixed
		}
		r.name = strings.TrimSpace(r.name)
		if strings.ContainsAny(r.name, "ÃÂĂ\uFFFD") || strings.ContainsFunc(r.name, func(c rune) bool { return c >= 0x80 && c < 0xA0 }) {
			return nil, fmt.Errorf("%s: name %q still looks like mojibake", r.code, r.name)
		}
		if strings.ContainsAny(r.name, "\t\n\r`") || r.name == "" {
			return nil, fmt.Errorf("%s: name %q cannot be stored", r.code, r.name)
		}
		if r.code[0] != 'Z' && (r.prov[0] < 'A' || r.prov[0] > 'Z' || r.prov[1] < 'A' || r.prov[1] > 'Z') {
			return nil, fmt.Errorf("%s: province %q", r.code, r.prov)
		}
		if !r.to.IsZero() && r.to.Before(r.from) {
			return nil, fmt.Errorf("%s: expires before creation", r.code)
		}
	}
	return repaired, nil
}

// unmojibake undoes UTF-8 text that was decoded as Latin-1, Windows-1252 or
// Latin-2 ("CittÃ\u00a0" → "Città"), when re-encoding gives valid UTF-8.
func unmojibake(s string) (string, bool) {
	if !strings.ContainsAny(s, "ÃÂĂ") {
		return s, false
	}
	for _, cm := range []*charmap.Charmap{charmap.ISO8859_1, charmap.Windows1252, charmap.ISO8859_2} {
		b, err := cm.NewEncoder().Bytes([]byte(s))
		if err != nil {
			continue
		}
		// "à" is C3 A0 and A0 reads as a no-break space, which trimming removed
		// ("ContÃ"): restore it wherever C3 lost its continuation byte.
		var fixed []byte
		for i := 0; i < len(b); i++ {
			fixed = append(fixed, b[i])
			if b[i] == 0xC3 && (i+1 == len(b) || b[i+1] < 0x80 || b[i+1] > 0xBF) {
				fixed = append(fixed, 0xA0)
			}
		}
		if utf8.Valid(fixed) && string(fixed) != s {
			return string(fixed), true
		}
	}
	return s, false
}

func goFile(id string, rows []row) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by internal/gen from npm %s; DO NOT EDIT.\n\n", id)
	b.WriteString("package places\n\n")
	fmt.Fprintf(&b, "// dataVersion names the npm package the data comes from (attribution: LICENSES.md).\nconst dataVersion = %q\n\n", id)
	b.WriteString("// rawData is one place per line, sorted by code: code, name, province (comuni)\n")
	b.WriteString("// or ISO 3166 alpha-2 (states, may be empty), first valid day YYYYMMDD and,\n")
	b.WriteString("// for places no longer valid, the expiration day YYYYMMDD.\n")
	b.WriteString("const rawData = `")
	for _, r := range rows {
		prov := r.prov
		if prov == "  " {
			prov = ""
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s", r.code, r.name, prov, r.from.Format("20060102"))
		if !r.to.IsZero() {
			fmt.Fprintf(&b, "\t%s", r.to.Format("20060102"))
		}
		b.WriteByte('\n')
	}
	b.WriteString("`\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("generated code does not parse: %v", err)
	}
	return src
}

func licenses(id, name string, mit []byte, ds *dataset, rows []row, repaired []string) []byte {
	count := make([]int, len(ds.Licenses))
	for _, r := range rows {
		count[r.source]++
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Code generated by internal/gen from npm %s; DO NOT EDIT. -->\n\n", id)
	b.WriteString("# Attribution of the cadastral-code data\n\n")
	fmt.Fprintf(&b, "`data_gen.go` is generated by `internal/gen` from the file `asset/cities-countries.ts` of the npm package\n"+
		"[%s](https://www.npmjs.com/package/%s) (%d places). The package and the data carry the licences below.\n\n", id, name, len(rows))
	b.WriteString("Changes made to the data: decoded from the package's compact encoding into one line per place;\n" +
		"names whose UTF-8 text had been read as Latin-1/Latin-2 (mojibake) were repaired:\n\n")
	for _, r := range repaired {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	b.WriteString("\n## Data sources\n\n")
	for i, l := range ds.Licenses {
		fmt.Fprintf(&b, "- **%s** (%s): %d places, licence [%s](%s)", l.Name, l.URL, count[i], strings.ToUpper(l.License), l.LicenseURL)
		if l.TermsAndConditions != "" {
			fmt.Fprintf(&b, "; terms: %s", l.TermsAndConditions)
		}
		if l.Authors != "" {
			fmt.Fprintf(&b, "; authors: %s", l.Authors)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nOriginal files used by the package:\n\n")
	for _, s := range ds.Sources {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	fmt.Fprintf(&b, "\n## The package %s\n\n```\n%s\n```\n", name, strings.TrimSpace(string(mit)))
	return b.Bytes()
}
