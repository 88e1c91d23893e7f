package validate

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// earliestBirth is the first birth date accepted: the registers the Procura works
// from do not go further back, and an earlier date is almost always a typing slip.
var earliestBirth = domain.Date{Year: 1900, Month: time.January, Day: 1}

// parseBirthDate reads a birth date as offices write it: GG/MM/AAAA, G/M/AAAA,
// GG.MM.AAAA, GG-MM-AAAA, AAAA-MM-GG (optionally followed by a midnight time, as
// databases export it), or an Excel serial number. It checks the date exists, is not
// before 1900 and not after today.
func parseBirthDate(s string, today domain.Date) (domain.Date, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return domain.Date{}, "Data di nascita mancante"
	}
	d, msg := parseDate(s)
	if msg != "" {
		return domain.Date{}, msg
	}
	if d.Before(earliestBirth) {
		return domain.Date{}, "Data di nascita " + d.Italian() + " anteriore al 1900: verificare l'anno"
	}
	if today.Before(d) {
		return domain.Date{}, "Data di nascita " + d.Italian() + " nel futuro"
	}
	return d, ""
}

const dateFormats = "usare GG/MM/AAAA (es. 25/11/1980)"

func parseDate(s string) (domain.Date, string) {
	if d, m, y, ok := fastItalian(s); ok {
		return calendarDate(y, m, d, s)
	}
	// ISO date, possibly with a time of day that must be midnight.
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) {
		y, m, d := atoi(s[:4]), atoi(s[5:7]), atoi(s[8:10])
		rest := strings.TrimSpace(strings.TrimLeft(s[10:], "T "))
		if !allDigits(s[5:7]) || !allDigits(s[8:10]) || (rest != "" && !midnight(rest)) {
			return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
		}
		return calendarDate(y, m, d, s)
	}
	if allDigits(s) && len(s) == 4 && atoi(s) >= 1900 {
		// A bare year would read as an Excel serial from 1905: refuse it rather than guess.
		return domain.Date{}, "Data di nascita «" + s + "» incompleta: indicare giorno, mese e anno (GG/MM/AAAA)"
	}
	if allDigits(s) || isSerial(s) {
		return excelSerial(s)
	}
	sep := byte(0)
	for _, c := range []byte{'/', '.', '-'} {
		if strings.IndexByte(s, c) > 0 {
			sep = c
			break
		}
	}
	if sep == 0 {
		return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
	}
	parts := strings.Split(s, string(sep))
	if len(parts) != 3 {
		return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
	}
	// A trailing time after the year ("25/11/1980 00:00") is dropped if it is midnight.
	if y, rest, ok := strings.Cut(parts[2], " "); ok {
		if !midnight(strings.TrimSpace(rest)) {
			return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
		}
		parts[2] = y
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || !allDigits(p) {
			return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
		}
	}
	if len(parts[2]) != 4 {
		if len(parts[0]) == 4 { // AAAA/MM/GG
			return calendarDate(atoi(parts[0]), atoi(parts[1]), atoi(parts[2]), s)
		}
		return domain.Date{}, "Data di nascita «" + s + "»: indicare l'anno con quattro cifre (es. 1980)"
	}
	if len(parts[0]) > 2 || len(parts[1]) > 2 {
		return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
	}
	return calendarDate(atoi(parts[2]), atoi(parts[1]), atoi(parts[0]), s)
}

func calendarDate(y, m, d int, s string) (domain.Date, string) {
	if m < 1 || m > 12 {
		return domain.Date{}, "Data di nascita «" + s + "»: il mese deve essere tra 1 e 12"
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if d < 1 || t.Day() != d {
		return domain.Date{}, "Data di nascita «" + s + "» non esiste nel calendario"
	}
	return domain.Date{Year: y, Month: time.Month(m), Day: d}, ""
}

// excelSerial converts an Excel date serial (days since 1899-12-30, with the 1900
// leap-year bug: serial 60 is the non-existent 29/02/1900). A fraction is a time of day.
func excelSerial(s string) (domain.Date, string) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 2958465 || math.IsNaN(f) {
		return domain.Date{}, "Data di nascita «" + s + "» non riconosciuta: " + dateFormats
	}
	n := int(f)
	if n == 60 {
		return domain.Date{}, "Data di nascita «" + s + "» non esiste nel calendario (29/02/1900)"
	}
	base := time.Date(1899, time.December, 30, 0, 0, 0, 0, time.UTC)
	if n < 60 {
		base = base.AddDate(0, 0, 1)
	}
	return domain.DateOf(base.AddDate(0, 0, n)), ""
}

func isSerial(s string) bool {
	dot := strings.IndexByte(s, '.')
	return dot > 0 && allDigits(s[:dot]) && allDigits(s[dot+1:]) && dot+1 < len(s) && strings.Count(s, ".") == 1 && len(s[:dot]) <= 7 && len(s[:dot]) >= 3
}

func midnight(t string) bool {
	switch t {
	case "00:00", "00:00:00", "00:00:00Z", "00:00:00.000", "00:00:00.000Z", "0:00", "0.00.00":
		return true
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi reads a string of digits already checked by allDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// fastItalian reads the common G/M/AAAA forms (any of / . - as separator) without
// allocating; anything else goes the long way.
func fastItalian(s string) (d, m, y int, ok bool) {
	i := 0
	num := func(max int) (int, bool) {
		start, n := i, 0
		for i < len(s) && i-start < max && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			i++
		}
		return n, i > start
	}
	sep := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	var okD, okM, okY bool
	if d, okD = num(2); !okD || i >= len(s) {
		return 0, 0, 0, false
	}
	c := s[i]
	if c != '/' && c != '.' && c != '-' {
		return 0, 0, 0, false
	}
	i++
	if m, okM = num(2); !okM || !sep(c) {
		return 0, 0, 0, false
	}
	start := i
	if y, okY = num(4); !okY || i-start != 4 || i != len(s) {
		return 0, 0, 0, false
	}
	return d, m, y, true
}
