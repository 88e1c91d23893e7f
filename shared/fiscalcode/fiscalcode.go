// Package fiscalcode computes, parses and verifies the Italian codice fiscale of a
// natural person (DM 23/12/1976, DM 12/03/1974), omocodia included.
//
// Messages in errors and mismatches are in Italian, for the office clerk who typed the
// row. They may name letter groups, dates and single characters, but never the whole
// code or the whole name, so they are safe to log.
package fiscalcode

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Length is the number of characters of a person's codice fiscale.
const Length = 16

const (
	monthLetters = "ABCDEHLMPRST" // January..December
	omoLetters   = "LMNPQRSTUV"   // omocodia substitutes for 0..9
	invalidMark  = '*'            // what Compute writes for a field it cannot encode
)

// omoPositions are the 0-based positions of the digits the Agenzia may replace with
// letters to tell apart people who would otherwise share a code.
var omoPositions = [7]int{6, 7, 9, 10, 12, 13, 14}

// oddValue and evenValue are the check-character tables: a character's value when it
// sits at an odd or even 1-based position. 0xFF marks characters outside [0-9A-Z].
var oddValue, evenValue, omoDigit [256]byte

func init() {
	// Odd-position values of A..Z; digits 0..9 take the values of A..J.
	odd := [26]byte{1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23}
	for i := range 256 {
		oddValue[i], evenValue[i], omoDigit[i] = 0xFF, 0xFF, 0xFF
	}
	for i := range 26 {
		oddValue['A'+i] = odd[i]
		evenValue['A'+i] = byte(i)
	}
	for i := range 10 {
		oddValue['0'+i] = odd[i]
		evenValue['0'+i] = byte(i)
		omoDigit['0'+i] = byte(i)
		omoDigit[omoLetters[i]] = byte(i)
	}
}

// checkChar returns the check character of the first 15 characters of c, which must
// be uppercase letters and digits.
func checkChar[T string | []byte](c T) byte {
	sum := 0
	for i := 0; i < 15; i += 2 {
		sum += int(oddValue[c[i]])
	}
	for i := 1; i < 15; i += 2 {
		sum += int(evenValue[c[i]])
	}
	return byte('A' + sum%26)
}

// Compute returns the 16-character code (uppercase, no omocodia) for the person.
// placeCode is the Belfiore code (H501, Z112).
//
// Compute reports no error, since rows are validated before: when sex is neither
// Male nor Female, born is not a real date or placeCode is not a letter and three
// digits, the characters of that field and the check character are '*', so the
// result never equals a real code and Parse rejects it.
func Compute(surname, name string, sex domain.Sex, born domain.Date, placeCode string) string {
	var c [Length]byte
	s := letters(surname, false)
	n := letters(name, true)
	copy(c[0:3], s[:])
	copy(c[3:6], n[:])
	ok := true
	if validDate(born) {
		y := born.Year % 100
		if y < 0 {
			y += 100
		}
		c[6], c[7] = byte('0'+y/10), byte('0'+y%10)
		c[8] = monthLetters[born.Month-1]
		d := born.Day
		switch sex {
		case domain.Male:
		case domain.Female:
			d += 40
		default:
			d = -1
		}
		if d > 0 {
			c[9], c[10] = byte('0'+d/10), byte('0'+d%10)
		} else {
			c[9], c[10] = invalidMark, invalidMark
			ok = false
		}
	} else {
		c[6], c[7], c[8], c[9], c[10] = invalidMark, invalidMark, invalidMark, invalidMark, invalidMark
		ok = false
	}
	if p, valid := placeBytes(placeCode); valid {
		copy(c[11:15], p[:])
	} else {
		c[11], c[12], c[13], c[14] = invalidMark, invalidMark, invalidMark, invalidMark
		ok = false
	}
	if ok {
		c[15] = checkChar(c[:])
	} else {
		c[15] = invalidMark
	}
	return string(c[:])
}

// placeBytes returns placeCode as an uppercase letter and three digits, ignoring
// surrounding spaces, and whether it has that shape.
func placeBytes(placeCode string) (p [4]byte, ok bool) {
	placeCode = strings.TrimSpace(placeCode)
	if len(placeCode) != 4 {
		return p, false
	}
	l := placeCode[0]
	if 'a' <= l && l <= 'z' {
		l -= 'a' - 'A'
	}
	if l < 'A' || l > 'Z' {
		return p, false
	}
	p[0] = l
	for i := 1; i < 4; i++ {
		d := placeCode[i]
		if d < '0' || d > '9' {
			return p, false
		}
		p[i] = d
	}
	return p, true
}

// validDate reports whether d is a real Gregorian date.
func validDate(d domain.Date) bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && d.Day <= daysIn(d.Month, isLeap(d.Year))
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(m time.Month, leap bool) int {
	switch m {
	case time.February:
		if leap {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// letters returns the 3-letter group of a surname (name false) or a name (name true):
// consonants, then vowels, then X; a name with four or more consonants takes the 1st,
// 3rd and 4th. Accented letters count as their base letter; anything that is not a
// letter (apostrophes, spaces, hyphens, dots) is skipped, so all words count.
func letters(s string, name bool) [3]byte {
	var cons [4]byte
	var vows [3]byte
	nc, nv := 0, 0
	need := 3 // consonants that settle the group: scanning stops there
	if name {
		need = 4
	}
	for i := 0; i < len(s) && nc < need; {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch asciiClass[c] {
			case vowel:
				if nv < len(vows) {
					vows[nv] = asciiUpper[c]
					nv++
				}
			case consonant:
				cons[nc] = asciiUpper[c]
				nc++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		f := foldRune(r)
		for j := 0; j < len(f) && nc < need; j++ {
			switch c := f[j]; asciiClass[c] {
			case vowel:
				if nv < len(vows) {
					vows[nv] = c
					nv++
				}
			case consonant:
				cons[nc] = c
				nc++
			}
		}
	}
	var g [3]byte
	if nc == 4 {
		g[0], g[1], g[2] = cons[0], cons[2], cons[3]
		return g
	}
	k := copy(g[:], cons[:nc])
	k += copy(g[k:], vows[:nv])
	for ; k < 3; k++ {
		g[k] = 'X'
	}
	return g
}

const (
	other = iota
	vowel
	consonant
)

// asciiClass and asciiUpper classify ASCII bytes in one lookup each: letters is on
// the path of every row of a list.
var asciiClass, asciiUpper [utf8.RuneSelf]byte

func init() {
	for c := 'A'; c <= 'Z'; c++ {
		class := byte(consonant)
		if strings.ContainsRune("AEIOU", c) {
			class = vowel
		}
		asciiClass[c], asciiClass[c+'a'-'A'] = class, class
		asciiUpper[c], asciiUpper[c+'a'-'A'] = byte(c), byte(c)
	}
}

// Parts is a code decoded back, omocodia undone.
type Parts struct {
	Surname, Name string     // the 3-letter groups
	Year2         int        // 0..99
	Month         time.Month // January..December
	Day           int        // 1..31
	Sex           domain.Sex
	PlaceCode     string // with omocodia undone: H501
	Omocode       bool   // the code had substituted digits
}

// Error is why a code cannot be parsed, in Italian for an office clerk.
type Error struct {
	Message string
}

func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// Normalize uppercases and strips spaces (any Unicode white space, as pasted from
// PDFs and spreadsheets); it does not validate.
func Normalize(code string) string {
	clean := true
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			clean = false
			break
		}
	}
	if clean {
		return code
	}
	var b strings.Builder
	b.Grow(len(code))
	for _, r := range code {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Parse checks syntax and check character and decodes. The code is normalised first
// (see Normalize), so lowercase and spaces are accepted. Omocodic codes are accepted
// with any combination of substituted positions. Errors are *Error.
//
// Parse does not require the letter groups to be the ones the algorithm would give:
// a code the Agenzia issued by mistake stays the person's valid code.
func Parse(code string) (Parts, error) {
	p, err := parse(Normalize(code))
	if err != nil {
		return Parts{}, err
	}
	return p, nil
}

// parse decodes a normalised code; it returns *Error rather than error so callers in
// the package avoid an interface conversion.
func parse(c string) (Parts, *Error) {
	if len(c) != Length || !isASCII(c) {
		// Slow path, errors only: count characters as the clerk sees them.
		n := utf8.RuneCountInString(c)
		switch {
		case n == 0:
			return Parts{}, errorf("Codice fiscale non indicato")
		case n == 11 && allDigits(c):
			return Parts{}, errorf("Codice fiscale numerico di 11 cifre (provvisorio o di un ente): per una persona servono 16 caratteri")
		case n != Length:
			return Parts{}, errorf("Codice fiscale di lunghezza errata: %d %s invece di %d", n, plural(n, "carattere", "caratteri"), Length)
		}
		pos := 0
		for _, r := range c {
			pos++
			if r >= utf8.RuneSelf {
				return Parts{}, errNotAllowed(r, pos)
			}
		}
	}
	for i := 0; i < Length; i++ {
		ch := c[i]
		isLetter := 'A' <= ch && ch <= 'Z'
		if !isLetter && (ch < '0' || ch > '9') {
			return Parts{}, errNotAllowed(rune(ch), i+1)
		}
		switch i {
		case 0, 1, 2, 3, 4, 5:
			if !isLetter {
				return Parts{}, errorf("Codice fiscale non valido: in posizione %d (lettere di cognome e nome) è attesa una lettera, trovato %s", i+1, quote(rune(ch)))
			}
		case 6, 7, 9, 10, 12, 13, 14:
			if omoDigit[ch] == 0xFF {
				return Parts{}, errorf("Codice fiscale non valido: in posizione %d (%s) è attesa una cifra, trovato %s", i+1, fieldOf(i), quote(rune(ch)))
			}
		case 8:
			if strings.IndexByte(monthLetters, ch) < 0 {
				return Parts{}, errorf("Codice fiscale non valido: in posizione 9 la lettera del mese è %s, ma i mesi sono indicati con le lettere A B C D E H L M P R S T", quote(rune(ch)))
			}
		case 11, 15:
			if !isLetter {
				return Parts{}, errorf("Codice fiscale non valido: in posizione %d (%s) è attesa una lettera, trovato %s", i+1, fieldOf(i), quote(rune(ch)))
			}
		}
	}
	// The check character is checked before the date's meaning: a wrong date with a
	// wrong check character is most likely a typo, which this message points to better.
	if want := checkChar(c); c[15] != want {
		// "atteso" helps tell a typo in the last character from one elsewhere; the clerk
		// is warned not to just replace it.
		return Parts{}, errorf("Codice fiscale con carattere di controllo errato: atteso %c, trovato %c (l'errore può essere in qualunque posizione: ricontrollare tutto il codice)", want, c[15])
	}
	p := Parts{Surname: c[0:3], Name: c[3:6]}
	for _, i := range omoPositions {
		if c[i] > '9' {
			p.Omocode = true
			break
		}
	}
	p.Year2 = int(omoDigit[c[6]])*10 + int(omoDigit[c[7]])
	p.Month = time.Month(strings.IndexByte(monthLetters, c[8]) + 1)
	day := int(omoDigit[c[9]])*10 + int(omoDigit[c[10]])
	p.Sex = domain.Male
	if day > 40 {
		p.Sex, day = domain.Female, day-40
	}
	if day < 1 || day > 31 {
		return Parts{}, errorf("Codice fiscale non valido: il giorno di nascita in posizione 10-11 vale %02d, ma sono ammessi i valori da 01 a 31 per gli uomini e da 41 a 71 per le donne", int(omoDigit[c[9]])*10+int(omoDigit[c[10]]))
	}
	// The century is unknown, so 29 February is accepted in every year divisible by
	// four (00 included: 2000 was a leap year).
	if day > daysIn(p.Month, p.Year2%4 == 0) {
		return Parts{}, errorf("Codice fiscale non valido: indica il giorno %d del mese di %s, che non esiste", day, monthNames[p.Month-1])
	}
	p.Day = day
	if p.Omocode {
		p.PlaceCode = string([]byte{c[11], '0' + omoDigit[c[12]], '0' + omoDigit[c[13]], '0' + omoDigit[c[14]]})
	} else {
		p.PlaceCode = c[11:15]
	}
	return p, nil
}

var monthNames = [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"}

func fieldOf(i int) string {
	switch {
	case i < 6:
		return "lettere di cognome e nome"
	case i < 8:
		return "anno di nascita"
	case i == 8:
		return "mese di nascita"
	case i < 11:
		return "giorno di nascita e sesso"
	case i < 15:
		return "codice del luogo di nascita"
	}
	return "carattere di controllo"
}

func errNotAllowed(r rune, pos int) *Error {
	return errorf("Codice fiscale con carattere non ammesso %s in posizione %d: sono ammessi solo lettere senza accento e cifre", quote(r), pos)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// quote shows a character to a clerk; invisible ones are named by code point.
func quote(r rune) string {
	if unicode.IsPrint(r) && !unicode.IsSpace(r) {
		return "«" + string(r) + "»"
	}
	return fmt.Sprintf("%U", r)
}

// Mismatch is one field where a given code disagrees with the person's data.
type Mismatch struct {
	Field   string // surname, name, sex, birth_date, birth_place, fiscal_code
	Message string // Italian, for the clerk; never the whole code or name
}

// Mismatch fields.
const (
	FieldSurname    = "surname"
	FieldName       = "name"
	FieldSex        = "sex"
	FieldBirthDate  = "birth_date"
	FieldBirthPlace = "birth_place"
	FieldFiscalCode = "fiscal_code"
)

// Verify checks a supplied code against the person's data. The code is normalised
// (lowercase and spaces accepted) and may be omocodic. An unparseable code gives one
// Mismatch with Field "fiscal_code"; otherwise there is one Mismatch per disagreeing
// field, all of them. The year is compared on its last two digits, the only ones the
// code holds. An empty (non-nil) slice means the code matches.
func Verify(code, surname, name string, sex domain.Sex, born domain.Date, placeCode string) []Mismatch {
	p, err := parse(Normalize(code))
	if err != nil {
		return []Mismatch{{Field: FieldFiscalCode, Message: err.Message}}
	}
	out := []Mismatch{} // zero-length: no allocation when everything matches
	if g := letters(surname, false); string(g[:]) != p.Surname {
		out = append(out, Mismatch{FieldSurname, fmt.Sprintf("Il codice fiscale indica per il cognome le lettere %s, ma dal cognome indicato risultano %s", p.Surname, string(g[:]))})
	}
	if g := letters(name, true); string(g[:]) != p.Name {
		out = append(out, Mismatch{FieldName, fmt.Sprintf("Il codice fiscale indica per il nome le lettere %s, ma dal nome indicato risultano %s", p.Name, string(g[:]))})
	}
	if sex != p.Sex {
		what := "maschile"
		if p.Sex == domain.Female {
			what = "femminile"
		}
		msg := fmt.Sprintf("Il codice fiscale è di una persona di sesso %s, ma il sesso indicato è %s", what, sex)
		if sex != domain.Male && sex != domain.Female {
			msg = fmt.Sprintf("Il codice fiscale è di una persona di sesso %s, ma il sesso indicato non è valido (ammessi M o F)", what)
		}
		out = append(out, Mismatch{FieldSex, msg})
	}
	if m, ok := dateMismatch(p, born); !ok {
		out = append(out, Mismatch{FieldBirthDate, m})
	}
	if place := strings.TrimSpace(placeCode); !strings.EqualFold(place, p.PlaceCode) {
		msg := fmt.Sprintf("Il codice fiscale indica il luogo di nascita con codice catastale %s, ma il codice del luogo indicato è %s", p.PlaceCode, strings.ToUpper(place))
		if place == "" {
			msg = fmt.Sprintf("Il codice fiscale indica il luogo di nascita con codice catastale %s, ma il luogo indicato non ha codice catastale", p.PlaceCode)
		}
		out = append(out, Mismatch{FieldBirthPlace, msg})
	}
	return out
}

// dateMismatch compares the code's date with born; the message is built only when
// they differ.
func dateMismatch(p Parts, born domain.Date) (string, bool) {
	y := born.Year % 100
	if y < 0 {
		y += 100
	}
	dayOK, monthOK, yearOK := born.Day == p.Day, born.Month == p.Month, y == p.Year2
	if dayOK && monthOK && yearOK {
		return "", true
	}
	said := fmt.Sprintf("Il codice fiscale indica come data di nascita il %02d/%02d di un anno che termina con %02d", p.Day, int(p.Month), p.Year2)
	if born.IsZero() {
		return said + ", ma la data di nascita non è indicata", false
	}
	var diff []string
	if !dayOK {
		diff = append(diff, "il giorno")
	}
	if !monthOK {
		diff = append(diff, "il mese")
	}
	if !yearOK {
		diff = append(diff, "l'anno")
	}
	verb := "non coincide"
	if len(diff) > 1 {
		verb = "non coincidono"
	}
	list := strings.Join(diff, ", ")
	if len(diff) > 1 {
		list = strings.Join(diff[:len(diff)-1], ", ") + " e " + diff[len(diff)-1]
	}
	return fmt.Sprintf("%s, ma la data indicata è %02d/%02d/%04d (%s %s)", said, born.Day, int(born.Month), born.Year, verb, list), false
}
