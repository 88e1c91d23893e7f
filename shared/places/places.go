// Package places resolves the birthplace written by a clerk (a comune or a foreign
// state, current or historical) to its cadastral (Belfiore) code, as the Procura
// wants it. The table comes from the npm package @marketto/belfiore-connector-embedded
// (see LICENSES.md) and is compiled in as data_gen.go, so nothing is read at run time.
package places

//go:generate go run ./internal/gen -in ../../node_modules/@marketto/belfiore-connector-embedded/asset/cities-countries.ts -out data_gen.go

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Place is a comune or a foreign state in a period of its existence.
type Place struct {
	Code     string      // Belfiore: H501, Z112
	Name     string      // official name, proper case as in the data: "Roma", "Reggio nell'Emilia", "Germania"
	Province string      // two letters for comuni; "" for foreign states
	Country  string      // ISO 3166 alpha-2 for foreign states ("" when unknown); "" for comuni
	From     domain.Date // first day valid
	To       domain.Date // last day valid; zero when still valid
}

// Foreign reports whether p is a foreign state (Z code).
func (p Place) Foreign() bool { return len(p.Code) == 4 && p.Code[0] == 'Z' }

// ValidOn reports whether p existed on d. Both ends are inclusive, as in the source
// package: on the day a comune is merged, the old and the new one are both valid.
// A zero d (unknown date) matches every place.
func (p Place) ValidOn(d domain.Date) bool {
	if d.IsZero() {
		return true
	}
	k := dateKey(d)
	return k >= dateKey(p.From) && (p.To.IsZero() || k <= dateKey(p.To))
}

// dateKey orders dates as YYYYMMDD integers: cheaper than time.Time on the hot path.
func dateKey(d domain.Date) int32 { return int32(d.Year*10000 + int(d.Month)*100 + d.Day) }

// openKey is the date key of a place still valid.
const openKey = 99999999

// Index answers lookups by code and by name. It is read-only once built and safe
// for concurrent use.
type Index struct {
	places    []Place
	from, to  []int32          // date keys of places; to is openKey when still valid
	name      []int32          // places[i]'s own folded name, as an index into names
	byCode    []int32          // codeSlot(code) → place+1; 0 when none (26,000 slots: no hashing)
	byName    map[string]int32 // folded name (or alternative form, or alias) → names
	names     []nameEntry
	provinces [26 * 26]string // known province codes and EE, by provSlot; the code itself
}

// nameEntry lists the places answering to one folded name.
type nameEntry struct {
	key    string
	places []int32
}

var defaultIndex = sync.OnceValue(func() *Index {
	ix, err := build(rawData, stateAliases[:])
	if err != nil {
		panic("places: generated data is corrupt: " + err.Error())
	}
	return ix
})

// Default returns the index of the embedded table, built on first use.
func Default() *Index { return defaultIndex() }

// ByCode returns the place with the given cadastral code (either case).
func (ix *Index) ByCode(code string) (Place, bool) {
	i, ok := ix.code(code)
	if !ok {
		return Place{}, false
	}
	return ix.places[i], true
}

func (ix *Index) code(code string) (int32, bool) {
	slot, ok := codeSlot(code)
	if !ok || ix.byCode[slot] == 0 {
		return 0, false
	}
	return ix.byCode[slot] - 1, true
}

// codeSlot numbers the codes A000..Z999 as 0..25999, either case.
func codeSlot(code string) (int, bool) {
	if !isCode(code) {
		return 0, false
	}
	return int(code[0]|0x20-'a')*1000 + int(code[1]-'0')*100 + int(code[2]-'0')*10 + int(code[3]-'0'), true
}

// provSlot numbers two letters, either case, as 0..675.
func provSlot(p string) (int, bool) {
	if len(p) != 2 || !isLetter(p[0]) || !isLetter(p[1]) {
		return 0, false
	}
	return int(p[0]|0x20-'a')*26 + int(p[1]|0x20-'a'), true
}

func isLetter(c byte) bool { c |= 0x20; return 'a' <= c && c <= 'z' }

// alias is another name of a state.
type alias struct{ key, code string }

// stateAliases are common Italian names of states that differ from the official one
// in the data, kept to names that cannot mean anything else. Keys are folded. An
// array, not a map: nothing to run at package init.
var stateAliases = [...]alias{
	{"russia", "Z154"},
	{"urss", "Z135"},
	{"stati uniti", "Z404"},
	{"usa", "Z404"},
	{"inghilterra", "Z114"},
	{"gran bretagna", "Z114"},
	{"olanda", "Z126"},
	{"bosnia", "Z153"},
	{"macedonia", "Z148"},
	{"moldavia", "Z140"},
	{"germania est", "Z111"},
	{"germania orientale", "Z111"},
	{"germania ovest", "Z112"},
	{"germania occidentale", "Z112"},
}

// build parses rawData: one place per line, tab-separated code, name,
// province-or-ISO, from (YYYYMMDD) and, when expired, to (YYYYMMDD).
func build(raw string, aliases []alias) (*Index, error) {
	n := strings.Count(raw, "\n")
	ix := &Index{
		places: make([]Place, 0, n),
		from:   make([]int32, 0, n),
		to:     make([]int32, 0, n),
		name:   make([]int32, n),
		byCode: make([]int32, 26*1000),
	}
	// Keys are folded into one buffer and cut from one string: one allocation, not one per key.
	type keyRef struct {
		place      int32
		start, end int32
	}
	refs := make([]keyRef, 0, n+n/8)
	buf := make([]byte, 0, len(raw)/2)
	addKey := func(place int, s string) {
		start := len(buf)
		buf = fold(buf, s)
		if len(buf) == start {
			return
		}
		for j := len(refs) - 1; j >= 0 && int(refs[j].place) == place; j-- { // forms may fold alike
			if string(buf[refs[j].start:refs[j].end]) == string(buf[start:]) {
				buf = buf[:start]
				return
			}
		}
		refs = append(refs, keyRef{int32(place), int32(start), int32(len(buf))})
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(raw, "\n"), "\n") {
		var f [5]string
		nf := 0
		for field := range strings.SplitSeq(line, "\t") {
			if nf == len(f) {
				return nil, fmt.Errorf("too many fields: %q", line)
			}
			f[nf] = field
			nf++
		}
		slot, ok := codeSlot(f[0])
		if nf < 4 || !ok || f[0][0] > 'Z' || f[1] == "" {
			return nil, fmt.Errorf("bad line: %q", line)
		}
		p := Place{Code: f[0], Name: f[1]}
		if p.Foreign() {
			p.Country = f[2]
		} else {
			ps, ok := provSlot(f[2])
			if !ok || f[2][0] > 'Z' || f[2][1] > 'Z' {
				return nil, fmt.Errorf("%s: bad province %q", p.Code, f[2])
			}
			p.Province = f[2]
			ix.provinces[ps] = p.Province
		}
		if p.From, ok = parseDate(f[3]); !ok {
			return nil, fmt.Errorf("%s: bad date %q", p.Code, f[3])
		}
		to := int32(openKey)
		if nf == 5 {
			if p.To, ok = parseDate(f[4]); !ok || p.To.Before(p.From) {
				return nil, fmt.Errorf("%s: bad date %q", p.Code, f[4])
			}
			to = dateKey(p.To)
		}
		i := len(ix.places)
		if ix.byCode[slot] != 0 {
			return nil, fmt.Errorf("%s: duplicate code", p.Code)
		}
		ix.byCode[slot] = int32(i + 1)
		ix.places = append(ix.places, p)
		ix.from = append(ix.from, dateKey(p.From))
		ix.to = append(ix.to, to)

		addKey(i, p.Name)
		// Alternative forms: "Myanmar/Birmania", "A - B", "Isole Cook (NZ)".
		if strings.Contains(p.Name, "/") || strings.Contains(p.Name, " - ") {
			for part := range strings.SplitSeq(p.Name, "/") {
				for alt := range strings.SplitSeq(part, " - ") {
					addKey(i, alt)
				}
			}
		}
		if j := strings.IndexByte(p.Name, '('); j > 0 {
			addKey(i, p.Name[:j])
		}
	}
	if len(ix.places) != n {
		return nil, fmt.Errorf("%d lines, %d places", n, len(ix.places))
	}
	ee, _ := provSlot("EE")
	ix.provinces[ee] = "EE" // the convention for "born abroad"

	keys := string(buf)
	type aliasRef struct {
		key   string
		place int32
	}
	var extra []aliasRef
	for _, a := range aliases {
		i, ok := ix.code(a.code)
		if !ok {
			return nil, fmt.Errorf("alias %q: no code %s", a.key, a.code)
		}
		extra = append(extra, aliasRef{a.key, i})
	}
	// Two passes give every name its places as one slice of a shared array.
	ix.byName = make(map[string]int32, len(refs)+len(extra))
	ix.names = make([]nameEntry, 0, len(refs)+len(extra))
	entry := make([]int32, len(refs)+len(extra))
	count := make([]int32, 0, len(refs)+len(extra))
	last := int32(-1)
	for r, ref := range refs {
		key := keys[ref.start:ref.end]
		e, ok := ix.byName[key]
		if !ok {
			e = int32(len(ix.names))
			ix.byName[key] = e
			ix.names = append(ix.names, nameEntry{key: key})
			count = append(count, 0)
		}
		entry[r] = e
		count[e]++
		if ref.place != last { // the first key of a place is its own name
			ix.name[ref.place], last = e, ref.place
		}
	}
	for a, al := range extra {
		e, ok := ix.byName[al.key]
		if !ok {
			e = int32(len(ix.names))
			ix.byName[al.key] = e
			ix.names = append(ix.names, nameEntry{key: al.key})
			count = append(count, 0)
		}
		entry[len(refs)+a] = e
		count[e]++
	}
	all := make([]int32, len(entry))
	off := int32(0)
	for e := range ix.names {
		ix.names[e].places = all[off : off : off+count[e]]
		off += count[e]
	}
	for r, e := range entry {
		p := int32(0)
		if r < len(refs) {
			p = refs[r].place
		} else {
			p = extra[r-len(refs)].place
		}
		if !slices.Contains(ix.names[e].places, p) { // an alias may repeat a name
			ix.names[e].places = append(ix.names[e].places, p)
		}
	}
	return ix, nil
}

// isCode reports whether s has the form of a cadastral code: a letter and three digits.
func isCode(s string) bool {
	if len(s) != 4 {
		return false
	}
	c := s[0] | 0x20
	return 'a' <= c && c <= 'z' && isDigit(s[1]) && isDigit(s[2]) && isDigit(s[3])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDate reads YYYYMMDD.
func parseDate(s string) (domain.Date, bool) {
	if len(s) != 8 {
		return domain.Date{}, false
	}
	n := 0
	for i := range 8 {
		if !isDigit(s[i]) {
			return domain.Date{}, false
		}
		n = n*10 + int(s[i]-'0')
	}
	d := domain.Date{Year: n / 10000, Month: time.Month(n / 100 % 100), Day: n % 100}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return domain.Date{}, false
	}
	return d, true
}
