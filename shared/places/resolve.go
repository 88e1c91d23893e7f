package places

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Resolution is a resolved birthplace, with warnings (in Italian, for the clerk)
// about what was assumed on the way.
type Resolution struct {
	Place    Place
	Warnings []string
}

// ResolveError says, in Italian and for an office clerk, why a birthplace could not
// be resolved. Field is "birth_place" or "province": the column to correct.
type ResolveError struct {
	Field   string
	Message string
}

// Error returns the message alone: it is meant to be shown as it is.
func (e *ResolveError) Error() string { return e.Message }

const (
	fieldPlace    = "birth_place"
	fieldProvince = "province"
)

func placeErr(format string, a ...any) error {
	return &ResolveError{Field: fieldPlace, Message: fmt.Sprintf(format, a...)}
}

func provinceErr(format string, a ...any) error {
	return &ResolveError{Field: fieldProvince, Message: fmt.Sprintf(format, a...)}
}

// query is one Resolve call as it is being interpreted.
type query struct {
	text string // the place as typed, trimmed
	prov string // canonical province code, "EE" or ""
	born domain.Date
	day  int32 // dateKey(born); 0 when unknown
}

// Resolve finds the birthplace named by a clerk: a comune or foreign state name
// (any case, accents and punctuation), optionally followed by "(PR)", or a
// cadastral code. province may be "". born is the birth date; zero means unknown,
// and then currently valid places are preferred.
func (ix *Index) Resolve(place, province string, born domain.Date) (Resolution, error) {
	q := query{text: strings.TrimSpace(place), born: born}
	if q.text == "" {
		return Resolution{}, placeErr("Comune o Stato di nascita mancante")
	}
	if !born.IsZero() {
		q.day = dateKey(born)
	}
	if p := strings.TrimSpace(province); p != "" {
		canon, err := ix.province(p)
		if err != nil {
			return Resolution{}, err
		}
		q.prov = canon
	}
	if isCode(q.text) {
		i, ok := ix.code(q.text)
		if !ok {
			return Resolution{}, placeErr("Il codice catastale %s non esiste: indicare il nome del comune o dello Stato di nascita.", strings.ToUpper(q.text))
		}
		one := [1]int32{i}
		return ix.choose(&q, one[:])
	}
	var buf [64]byte
	key := fold(buf[:0], q.text)
	if e, ok := ix.byName[string(key)]; ok {
		return ix.choose(&q, ix.names[e].places)
	}
	if len(key) == 0 {
		return Resolution{}, placeErr("Comune o Stato di nascita non valido: «%s»", q.text)
	}

	// A province written in the place column: "ROMA (RM)", "Roma RM".
	name, prov, ok, err := ix.splitProvince(q.text, key)
	if err != nil {
		return Resolution{}, err
	}
	if ok {
		if q.prov != "" && q.prov != prov {
			return Resolution{}, provinceErr("La provincia indicata (%s) non coincide con quella scritta accanto al luogo di nascita (%s).", q.prov, prov)
		}
		q.prov = prov
		key = fold(buf[:0], name)
		if e, ok := ix.byName[string(key)]; ok {
			return ix.choose(&q, ix.names[e].places)
		}
	}
	if c := ix.saints(key); len(c) > 0 {
		return ix.choose(&q, c)
	}
	if c := ix.partial(key); len(c) > 0 {
		r, err := ix.choose(&q, c)
		if err == nil {
			r.Warnings = append([]string{fmt.Sprintf("«%s» interpretato come %s.", q.text, ix.label(r.Place))}, r.Warnings...)
		}
		return r, err
	}
	return Resolution{}, ix.notFound(&q, key)
}

// province validates the province column: two letters of a known province, or EE.
func (ix *Index) province(p string) (string, error) {
	if slot, ok := provSlot(p); ok {
		if canon := ix.provinces[slot]; canon != "" {
			return canon, nil
		}
		return "", provinceErr("La sigla di provincia «%s» non esiste: indicare la sigla di due lettere (es. FI), EE per i nati all'estero.", p)
	}
	return "", provinceErr("Provincia «%s» non valida: indicare la sigla di due lettere (es. FI), EE per i nati all'estero.", p)
}

// splitProvince separates a trailing province from the place: "Roma (RM)" on the
// text, "Roma RM" on its folded key. Only known province codes are split off, and
// only after the whole text failed to match, so "Isole Cook (NZ)" stays whole. An
// unknown code in parentheses after a known name is the province's error.
func (ix *Index) splitProvince(text string, key []byte) (name, prov string, ok bool, err error) {
	if strings.HasSuffix(text, ")") {
		if i := strings.LastIndexByte(text, '('); i > 0 {
			p := strings.TrimSpace(text[i+1 : len(text)-1])
			if len(p) == 2 && isLetter(p[0]) && isLetter(p[1]) {
				canon, err := ix.province(p)
				if err == nil {
					return text[:i], canon, true, nil
				}
				if _, known := ix.byName[string(fold(nil, text[:i]))]; known {
					return "", "", false, err
				}
			}
		}
		return "", "", false, nil
	}
	if n := len(key); n > 3 && key[n-3] == ' ' {
		if canon, err := ix.province(string(key[n-2:])); err == nil {
			return string(key[:n-3]), canon, true, nil
		}
	}
	return "", "", false, nil
}

// saints expands the abbreviation "S." (folded to the word "s") into San, Santo,
// Santa and Sant': "S. Giovanni Rotondo". It returns the places of every expansion
// that exists; choose then accepts them only if exactly one fits.
func (ix *Index) saints(key []byte) []int32 {
	k := string(key)
	words := strings.Split(k, " ")
	var at []int
	for i, w := range words {
		if w == "s" {
			at = append(at, i)
		}
	}
	if len(at) == 0 || len(at) > 2 || len(words) == len(at) {
		return nil
	}
	var out []int32
	var try func(n int)
	try = func(n int) {
		if n == len(at) {
			if e, ok := ix.byName[strings.Join(words, " ")]; ok {
				out = appendNew(out, ix.names[e].places...)
			}
			return
		}
		for _, s := range [...]string{"san", "santo", "santa", "sant"} {
			words[at[n]] = s
			try(n + 1)
		}
	}
	try(0)
	return out
}

func appendNew(out []int32, ps ...int32) []int32 {
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// partial matches a name given without its generic words: "Reggio Emilia" for
// "Reggio nell'Emilia", "Jugoslavia" for "Repubblica Socialista Federale di
// Jugoslavia". Every typed word must be a word of the name, and every word of the
// name not typed must be an article or preposition (or, for states, a word such as
// Repubblica, Stato, Regno). choose then accepts the result only if unique.
func (ix *Index) partial(key []byte) []int32 {
	k := string(key)
	words := strings.Split(k, " ")
	significant := false
	for _, w := range words {
		if !filler(w, true) {
			significant = true
		}
	}
	if !significant {
		return nil
	}
	var out []int32
	for e := range ix.names {
		name := ix.names[e].key
		if len(name) <= len(k) || !allWordsIn(words, name) {
			continue
		}
		for _, p := range ix.names[e].places {
			foreign := ix.places[p].Foreign()
			ok := true
			for w := range strings.SplitSeq(name, " ") {
				if !filler(w, foreign) && !slices.Contains(words, w) {
					ok = false
					break
				}
			}
			if ok {
				out = appendNew(out, p)
			}
		}
	}
	return out
}

// allWordsIn reports whether every one of words is a word of s.
func allWordsIn(words []string, s string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) { // cheap rejection of most names
			return false
		}
	}
	for _, w := range words {
		if !hasWord(s, w) {
			return false
		}
	}
	return true
}

func hasWord(s, w string) bool {
	for x := range strings.SplitSeq(s, " ") {
		if x == w {
			return true
		}
	}
	return false
}

// filler reports whether w may be left out of a name: articles and prepositions,
// and for states the words of their political form.
func filler(w string, state bool) bool {
	switch w {
	case "a", "ad", "al", "alla", "allo", "all", "ai", "agli", "alle",
		"d", "di", "del", "della", "dello", "dell", "dei", "degli", "delle",
		"in", "nel", "nella", "nello", "nell", "nei", "negli", "nelle",
		"sul", "sulla", "sullo", "sull", "sui", "sugli", "sulle",
		"e", "ed", "il", "lo", "la", "l", "i", "gli", "le":
		return true
	case "repubblica", "socialista", "federale", "federativa", "democratica", "popolare",
		"islamica", "araba", "stato", "stati", "regno", "principato", "granducato",
		"sultanato", "emirato", "federazione", "isole", "isola", "citta":
		return state
	}
	return false
}

// choose picks, among the places answering to a name, the one meant: the province
// decides between homonyms, the birth date between periods.
func (ix *Index) choose(q *query, cands []int32) (Resolution, error) {
	// Province: a given province means a comune; EE means a state.
	var pbuf [8]int32
	sel := cands
	mismatch, ignored := false, false
	switch q.prov {
	case "":
	case "EE":
		s := pbuf[:0]
		for _, c := range cands {
			if ix.places[c].Foreign() {
				s = append(s, c)
			}
		}
		if len(s) > 0 {
			sel = s
		} else {
			mismatch = true
		}
	default:
		s := pbuf[:0]
		for _, c := range cands {
			if ix.places[c].Province == q.prov {
				s = append(s, c)
			}
		}
		if len(s) == 0 {
			for _, c := range cands {
				if relatedProvince(q.prov, ix.places[c].Province) {
					s = append(s, c)
				}
			}
			if len(s) == 0 {
				for _, c := range cands {
					if !ix.places[c].Foreign() {
						s = append(s, c)
					}
				}
			}
			if len(s) > 0 {
				mismatch = true
			} else {
				ignored = true
			}
		}
		if len(s) > 0 {
			sel = s
		}
	}

	// Birth date: only places existing on that day; unknown date, prefer today's.
	var vbuf [8]int32
	valid := vbuf[:0]
	for _, c := range sel {
		if q.day == 0 && ix.to[c] == openKey || q.day != 0 && ix.from[c] <= q.day && q.day <= ix.to[c] {
			valid = append(valid, c)
		}
	}
	if len(valid) == 0 {
		if q.day != 0 {
			return Resolution{}, ix.dateErr(q, sel)
		}
		valid = sel
	}

	best := valid[0]
	for _, c := range valid[1:] {
		// The same name in the same province twice: a merger that kept the name
		// gives the new code from the day the old one ends, so the newer wins.
		if ix.name[c] != ix.name[best] || ix.group(c) != ix.group(best) || ix.from[c] == ix.from[best] {
			return Resolution{}, ix.ambiguous(q, valid, mismatch)
		}
		if ix.from[c] > ix.from[best] {
			best = c
		}
	}

	p := ix.places[best]
	var warnings []string
	switch {
	case mismatch && q.prov == "EE":
		warnings = append(warnings, fmt.Sprintf("Provincia indicata EE (estero), ma %s è un comune italiano: usata la provincia %s.", p.Name, p.Province))
	case mismatch:
		warnings = append(warnings, fmt.Sprintf("Provincia indicata %s, ma il comune di %s risulta in provincia di %s nell'elenco dei codici catastali: usato il codice %s.", q.prov, p.Name, p.Province, p.Code))
	case ignored:
		warnings = append(warnings, fmt.Sprintf("Provincia %s ignorata: %s è uno Stato estero.", q.prov, p.Name))
	}
	if q.day == 0 && !p.To.IsZero() {
		warnings = append(warnings, fmt.Sprintf("Data di nascita assente: %s è cessato il %s, verificare che sia il luogo giusto.", ix.label(p), p.To.Italian()))
	}
	return Resolution{Place: p, Warnings: warnings}, nil
}

// relatedProvinces pairs a province with the one this dataset records instead for
// some of its current comuni: Caserta's under NA or BN and the Canavese's under AO
// (their provinces of 1927-45), Gallura's and Ogliastra's under OT and OG
// (provinces abolished in 2016). They let the province decide between homonyms.
var relatedProvinces = [...][2]string{{"CE", "NA"}, {"CE", "BN"}, {"TO", "AO"}, {"SS", "OT"}, {"NU", "OG"}}

func relatedProvince(a, b string) bool {
	for _, r := range relatedProvinces {
		if a == r[0] && b == r[1] || a == r[1] && b == r[0] {
			return true
		}
	}
	return false
}

// group is what tells homonyms apart: the province, or "" for states.
func (ix *Index) group(i int32) string { return ix.places[i].Province }

// label names a place for the clerk: "Prato (PO)", "Germania (Stato estero)".
func (ix *Index) label(p Place) string {
	if p.Foreign() {
		return fmt.Sprintf("%s (Stato estero, %s)", p.Name, p.Code)
	}
	return fmt.Sprintf("%s (%s, %s)", p.Name, p.Province, p.Code)
}

func (ix *Index) labels(cands []int32) string {
	ls := make([]string, len(cands))
	for i, c := range cands {
		ls[i] = ix.label(ix.places[c])
	}
	slices.Sort(ls)
	return strings.Join(ls, "; ")
}

func (ix *Index) ambiguous(q *query, valid []int32, mismatch bool) error {
	if mismatch {
		return provinceErr("Nessun luogo «%s» in provincia di %s; esistono: %s. Correggere la provincia.", q.text, q.prov, ix.labels(valid))
	}
	return placeErr("«%s» corrisponde a più luoghi: %s. Indicare la provincia (EE per lo Stato estero) o il codice catastale.", q.text, ix.labels(valid))
}

// dateErr explains why no candidate existed on the birth date.
func (ix *Index) dateErr(q *query, cands []int32) error {
	born := q.born.Italian()
	if len(cands) > 1 {
		ls := make([]string, len(cands))
		for i, c := range cands {
			p := ix.places[c]
			if ix.from[c] > q.day {
				ls[i] = fmt.Sprintf("%s istituito il %s", ix.label(p), p.From.Italian())
			} else {
				ls[i] = fmt.Sprintf("%s cessato il %s", ix.label(p), p.To.Italian())
			}
		}
		slices.Sort(ls)
		return placeErr("Nessun luogo «%s» esisteva alla data di nascita %s: %s. Verificare il luogo o la data di nascita.", q.text, born, strings.Join(ls, "; "))
	}
	c := cands[0]
	p := ix.places[c]
	switch {
	case ix.from[c] > q.day && p.Foreign():
		return placeErr("Lo Stato %s (%s) risulta istituito il %s, dopo la data di nascita %s: verificare il luogo o la data di nascita.", p.Name, p.Code, p.From.Italian(), born)
	case ix.from[c] > q.day:
		return placeErr("Il comune di %s (%s) è stato istituito il %s, dopo la data di nascita %s: verificare il luogo o la data di nascita.", p.Name, p.Province, p.From.Italian(), born)
	case p.Foreign():
		return placeErr("Lo Stato %s (%s) è cessato il %s, prima della data di nascita %s: indicare lo Stato esistente alla nascita.", p.Name, p.Code, p.To.Italian(), born)
	}
	if s, sure, ok := ix.successor(c); ok {
		n := ix.places[s]
		if sure {
			return placeErr("Il comune di %s (%s) è stato soppresso il %s ed è confluito in %s (%s, codice %s): per chi è nato dopo quella data indicare il nuovo comune.", p.Name, p.Province, p.To.Italian(), n.Name, n.Province, n.Code)
		}
		return placeErr("Il comune di %s (%s) è stato soppresso il %s, prima della data di nascita %s; nella stessa data è stato istituito il comune di %s (%s, codice %s): verificare se vi è confluito e indicare il comune esistente alla nascita.", p.Name, p.Province, p.To.Italian(), born, n.Name, n.Province, n.Code)
	}
	return placeErr("Il comune di %s (%s) è stato soppresso il %s, prima della data di nascita %s: verificare il luogo di nascita.", p.Name, p.Province, p.To.Italian(), born)
}

// successor infers what a suppressed comune became, as the data records no link:
// the comune of its province created within a day of its end. It is sure only
// when the names share a distinctive word (Abetone → Abetone Cutigliano, Bondione
// → Valbondione): in the mergers of 1927-29 a province often lost comuni to older
// ones on the day it gained an unrelated new one. When several were created that
// day, only a sure one is returned.
func (ix *Index) successor(c int32) (s int32, sure, ok bool) {
	p := ix.places[c]
	end := p.To.Time()
	var near []int32
	for i := range ix.places {
		n := &ix.places[i]
		if int32(i) == c || n.Province != p.Province {
			continue
		}
		if d := n.From.Time().Sub(end); d >= -24*time.Hour && d <= 24*time.Hour {
			near = append(near, int32(i))
		}
	}
	old := ix.names[ix.name[c]].key
	s = -1
	for _, n := range near {
		if related(old, ix.names[ix.name[n]].key) {
			if s >= 0 {
				return 0, false, false
			}
			s = n
		}
	}
	if s >= 0 {
		return s, true, true
	}
	if len(near) == 1 {
		return near[0], false, true
	}
	return 0, false, false
}

// related reports whether two folded names share a distinctive word, or one
// contains the other's.
func related(a, b string) bool {
	for x := range strings.SplitSeq(a, " ") {
		if generic(x) {
			continue
		}
		for y := range strings.SplitSeq(b, " ") {
			if generic(y) {
				continue
			}
			if x == y || len(x) >= 5 && len(y) >= 5 && (strings.Contains(x, y) || strings.Contains(y, x)) {
				return true
			}
		}
	}
	return false
}

// generic reports words too common in names of comuni to link two of them.
func generic(w string) bool {
	switch w {
	case "san", "santo", "santa", "sant", "santi", "monte", "castel", "castello", "borgo",
		"val", "valle", "villa", "terme", "marina", "porto", "lago", "ponte", "torre", "rocca":
		return true
	}
	return len(w) < 3 || filler(w, false)
}

// notFound reports an unknown name, suggesting close names of places valid on the
// birth date: within a small edit distance, or containing every typed word.
func (ix *Index) notFound(q *query, key []byte) error {
	k := string(key)
	maxd := 2
	switch {
	case len(k) <= 3:
		maxd = 0
	case len(k) <= 5:
		maxd = 1
	}
	type hit struct {
		dist  int
		place int32
	}
	var near, within []hit
	words := strings.Split(k, " ")
	var kb bag
	kb.add(k, 1)
	for e := range ix.names {
		name := ix.names[e].key
		d := maxd + 1
		if maxd > 0 && abs(len(name)-len(k)) <= maxd && kb.near(name, maxd) {
			d = osa(k, name, maxd)
		}
		contains := d > maxd && len(name) > len(k) && allWordsIn(words, name)
		if d > maxd && !contains {
			continue
		}
		for _, p := range ix.names[e].places {
			if !ix.places[p].ValidOn(q.born) {
				continue
			}
			if d <= maxd {
				near = append(near, hit{2 * d, p})
			} else {
				within = append(within, hit{0, p})
			}
		}
	}
	if len(within) <= 5 {
		for i := range within {
			within[i].dist = 2 // between a typo and two
		}
		near = append(near, within...)
	}
	slices.SortFunc(near, func(a, b hit) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), strings.Compare(ix.places[a.place].Name, ix.places[b.place].Name))
	})
	var sug []string
	for _, h := range near {
		p := ix.places[h.place]
		s := fmt.Sprintf("%s (%s)", p.Name, p.Province)
		if p.Foreign() {
			s = p.Name + " (Stato estero)"
		}
		if !slices.Contains(sug, s) && len(sug) < 4 {
			sug = append(sug, s)
		}
	}
	if len(sug) > 0 {
		return placeErr("Luogo di nascita «%s» non trovato. Forse intendevi: %s?", q.text, strings.Join(sug, ", "))
	}
	return placeErr("Luogo di nascita «%s» non trovato tra i comuni italiani e gli Stati esteri: verificare il nome o indicare il codice catastale.", q.text)
}

func abs(n int) int { return max(n, -n) }

// bag counts bytes (folded to 32 classes): the difference of two bags is a lower
// bound of the edit distance, far cheaper to compute.
type bag [32]int8

func (b *bag) add(s string, n int8) {
	for i := 0; i < len(s); i++ {
		b[s[i]&31] += n
	}
}

// near reports whether s may be within d edits of the bag's string: bytes of s
// missing from the bag, and bytes of the bag missing from s, each need an edit.
func (b *bag) near(s string, d int) bool {
	h := *b
	more := 0 // bytes of the bag not yet matched
	for _, v := range h {
		more += int(v)
	}
	less := 0 // bytes of s not in the bag
	for i := 0; i < len(s); i++ {
		c := s[i] & 31
		if h[c] > 0 {
			more--
		} else if less++; less > d {
			return false
		}
		h[c]--
	}
	return more <= d
}

// osa is the optimal-string-alignment distance of a and b (a swap of two adjacent
// letters counts one), giving up above maxd.
func osa(a, b string, maxd int) int {
	if abs(len(a)-len(b)) > maxd {
		return maxd + 1
	}
	var rows [3][64]int
	if len(b)+1 > len(rows[0]) {
		return maxd + 1
	}
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			low = min(low, v)
		}
		if low > maxd {
			return maxd + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
