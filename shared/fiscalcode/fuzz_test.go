package fiscalcode

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casellario-pec/casellario/shared/domain"
)

// FuzzParse: Parse never panics; what it accepts decodes to parts that encode back to
// the same code (omocodia undone), and what it rejects it explains without repeating
// the code.
func FuzzParse(f *testing.F) {
	for _, k := range known {
		f.Add(k.code)
		f.Add(omocode(k.code, 0b1010101))
		f.Add(strings.ToLower(k.code[:9]) + " " + k.code[9:])
	}
	for _, s := range []string{"", "RSSMRA80A01H501", "RSSMRA80A01H501K", "RSSMRA80A32H501X", "12345678901", "RSSMRÀ80A01H501U", "rssmra80a01h501u\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		norm := Normalize(s)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("Parse(%q) error %v is not an *Error with a message", s, err)
			}
			if utf8.RuneCountInString(norm) >= 8 && strings.Contains(fe.Message, norm) {
				t.Fatalf("Parse(%q) message repeats the code: %q", s, fe.Message)
			}
			if m := Verify(s, "Rossi", "Mario", domain.Male, date(1980, 1, 1), "H501"); len(m) != 1 || m[0].Field != FieldFiscalCode || m[0].Message != fe.Message {
				t.Fatalf("Verify(%q) of an unparseable code = %+v", s, m)
			}
			return
		}
		if len(norm) != Length {
			t.Fatalf("Parse accepted %q, normalised to %d bytes", s, len(norm))
		}
		if p.Year2 < 0 || p.Year2 > 99 || p.Month < time.January || p.Month > time.December || p.Day < 1 || p.Day > 31 ||
			(p.Sex != domain.Male && p.Sex != domain.Female) || len(p.PlaceCode) != 4 || p.Surname != norm[0:3] || p.Name != norm[3:6] {
			t.Fatalf("Parse(%q) = %+v: out of range", s, p)
		}
		// Undo omocodia by hand and recompute the check character: that is the plain
		// code, which Compute must give for the decoded data. The century is free
		// (2000+Year2 keeps 29 February valid whenever Parse accepts it); the letter
		// groups come back only when they are canonical, since Parse takes any three
		// letters (a code issued by mistake stays valid).
		plain := []byte(norm)
		for _, i := range omoPositions {
			if d := strings.IndexByte(omoLetters, plain[i]); d >= 0 {
				plain[i] = byte('0' + d)
			}
		}
		if p.Omocode != (string(plain[:15]) != norm[:15]) {
			t.Fatalf("Parse(%q).Omocode = %v", s, p.Omocode)
		}
		plain[15] = checkChar(plain)
		if !p.Omocode && string(plain) != norm {
			t.Fatalf("Parse accepted %s, whose check character should be %c", norm, plain[15])
		}
		born := domain.Date{Year: 2000 + p.Year2, Month: p.Month, Day: p.Day}
		c := Compute(p.Surname, p.Name, p.Sex, born, p.PlaceCode)
		if c[6:15] != string(plain[6:15]) || (c[:6] == norm[:6] && c != string(plain)) {
			t.Fatalf("Parse(%q) = %+v; Compute gives %s, the plain code is %s", s, p, c, plain)
		}
		q, err := Parse(string(plain))
		if want := (Parts{p.Surname, p.Name, p.Year2, p.Month, p.Day, p.Sex, p.PlaceCode, false}); err != nil || q != want {
			t.Fatalf("Parse(%s) = %+v, %v; want %+v", plain, q, err, want)
		}
		// Verify agrees with Parse on everything but the letter groups.
		for _, m := range Verify(s, "", "", p.Sex, born, p.PlaceCode) {
			if m.Field != FieldSurname && m.Field != FieldName {
				t.Fatalf("Verify(%q) with its own data: %+v", s, m)
			}
		}
	})
}

// FuzzCompute: for any names and any valid date, sex and place, Compute gives 16
// characters of the right classes that Parse decodes back and Verify accepts.
func FuzzCompute(f *testing.F) {
	f.Add("Rossi", "Mario", true, 1980, uint8(1), uint8(1), uint8('H'-'A'), uint16(501))
	f.Add("D'Angelo", "Nicolò", false, 1973, uint8(11), uint8(5), uint8('F'-'A'), uint16(839))
	f.Add("", "Anna Maria", false, 2000, uint8(2), uint8(29), uint8('Z'-'A'), uint16(112))
	f.Add("Ștefănescu", "\xff\xfe", true, -44, uint8(200), uint8(77), uint8(255), uint16(65535))
	f.Fuzz(func(t *testing.T, surname, name string, male bool, year int, month, day, letter uint8, digits uint16) {
		sex := domain.Female
		if male {
			sex = domain.Male
		}
		m := time.Month(1 + int(month)%12)
		born := domain.Date{Year: year, Month: m, Day: 1 + int(day)%daysIn(m, isLeap(year))}
		place := string(rune('A'+int(letter)%26)) + string(rune('0'+digits/100%10)) + string(rune('0'+digits/10%10)) + string(rune('0'+digits%10))

		code := Compute(surname, name, sex, born, place)
		if len(code) != Length {
			t.Fatalf("Compute = %q: %d bytes", code, len(code))
		}
		for i := 0; i < Length; i++ {
			c := code[i]
			var ok bool
			switch i {
			case 6, 7, 9, 10, 12, 13, 14:
				ok = '0' <= c && c <= '9'
			case 8:
				ok = strings.IndexByte(monthLetters, c) >= 0
			default:
				ok = 'A' <= c && c <= 'Z'
			}
			if !ok {
				t.Fatalf("Compute = %s: character %d %q of the wrong class", code, i+1, c)
			}
		}
		p, err := Parse(code)
		if err != nil {
			t.Fatalf("Parse(%s): %v", code, err)
		}
		y := year % 100
		if y < 0 {
			y += 100
		}
		want := Parts{code[0:3], code[3:6], y, born.Month, born.Day, sex, place, false}
		if p != want {
			t.Fatalf("Parse(%s) = %+v, want %+v", code, p, want)
		}
		if g := letters(surname, false); string(g[:]) != p.Surname {
			t.Fatalf("surname group %s, letters %s", p.Surname, g[:])
		}
		for _, c := range []string{code, strings.ToLower(code[:7]) + " " + code[7:], omocode(code, int(digits)%128)} {
			if m := Verify(c, surname, name, sex, born, strings.ToLower(place)); len(m) != 0 {
				t.Fatalf("Verify(%q) of the computed code: %+v", c, m)
			}
		}
	})
}
