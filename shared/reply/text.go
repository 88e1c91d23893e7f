package reply

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/pdf"
)

// pdfLimits bound the reading of one certificate: a few pages of text each,
// far below these; a file beyond them is refused, never read at any cost.
var pdfLimits = pdf.Limits{MaxDecoded: 32 << 20, MaxPages: 5000}

// ErrNotPDF is returned for data that is not a readable PDF.
var ErrNotPDF = pdf.ErrNotPDF

// IsPDF reports whether data starts like a PDF.
func IsPDF(data []byte) bool { return pdf.IsPDF(data) }

// PDFPages returns the plain text of each page of a PDF. A page whose text
// cannot be read gives "" (scanned certificates have no text). The reader
// (shared/pdf) is bounded in depth, memory and work and stops when ctx ends:
// a hostile file is an error, never a crash or a hang, and nothing it holds
// is printed.
func PDFPages(ctx context.Context, data []byte) ([]string, error) {
	return pdf.Text(ctx, data, pdfLimits)
}

var nonAlnum = regexp.MustCompile(`[^A-Z0-9]+`)

// Normalize folds text for matching: accents removed, upper case, every run
// of other characters one space, with a space at both ends (so that
// " ROSSI " matches whole words only).
func Normalize(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	folded = strings.ToUpper(folded)
	return " " + strings.TrimSpace(nonAlnum.ReplaceAllString(folded, " ")) + " "
}

// Who tells the people of a batch apart in certificates.
type Who struct {
	people []domain.Person
	fc     map[string][]int
}

// NewWho prepares matching against people (a batch's subjects, in order).
func NewWho(people []domain.Person) *Who {
	w := &Who{people: people, fc: map[string][]int{}}
	for i, p := range people {
		if cf := strings.ToUpper(strings.TrimSpace(p.FiscalCode)); cf != "" {
			w.fc[cf] = append(w.fc[cf], i)
		}
	}
	return w
}

var fiscalCodeRE = regexp.MustCompile(`[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]`)

// InName returns the people whose fiscal code appears in a file name.
func (w *Who) InName(name string) []int {
	return w.byFiscalCode(strings.ToUpper(name))
}

func (w *Who) byFiscalCode(upper string) []int {
	var out []int
	seen := map[int]bool{}
	for _, cf := range fiscalCodeRE.FindAllString(upper, -1) {
		for _, i := range w.fc[cf] {
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// InText returns the people a text names: by fiscal code, or by surname,
// name and birth date all present (the date as GG/MM/AAAA, GG.MM.AAAA or
// AAAA-MM-GG).
func (w *Who) InText(text string) []int {
	out := w.byFiscalCode(strings.ToUpper(text))
	seen := map[int]bool{}
	for _, i := range out {
		seen[i] = true
	}
	n := Normalize(text)
	for i, p := range w.people {
		if seen[i] || p.Surname == "" || p.Name == "" || p.BirthDate.IsZero() {
			continue
		}
		d := p.BirthDate
		dates := []string{fmt.Sprintf(" %02d %02d %04d ", d.Day, int(d.Month), d.Year), fmt.Sprintf(" %04d %02d %02d ", d.Year, int(d.Month), d.Day)}
		if strings.Contains(n, Normalize(p.Surname)) && strings.Contains(n, Normalize(p.Name)) &&
			(strings.Contains(n, dates[0]) || strings.Contains(n, dates[1])) {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

var (
	nullaRE    = regexp.MustCompile(` (?:NULLA(?: OSTA)?|NULLO|NESSUNA ISCRIZIONE|NESSUN PRECEDENTE|NON RISULTANO ISCRIZIONI|NON RISULTA ALCUNA ISCRIZIONE) `)
	positivoRE = regexp.MustCompile(` (?:SENTENZA|SENTENZE|CONDANNA|CONDANNATO|CONDANNATA|DECRETO PENALE|REATO|REATI|IRREVOCABILE|RECLUSIONE|ARRESTO|AMMENDA|MULTA|PENA|ISCRIZIONI?) `)
)

// Outcome reads what a certificate says: nullo when it says nothing is on
// record ("NULLA", "nullo", "nessuna iscrizione"), positivo when it records a
// sentence, a decree, a penalty or an offence and does not say "nulla", and
// unknown otherwise (no text, or both kinds of words).
func Outcome(text string) domain.Outcome {
	n := Normalize(text)
	neg := false
	for _, m := range nullaRE.FindAllString(n, -1) {
		if m != " NULLA OSTA " {
			neg = true
		}
	}
	pos := false
	for _, m := range positivoRE.FindAllString(n, -1) {
		if m != " ISCRIZIONE " && m != " ISCRIZIONI " {
			pos = true
		}
	}
	switch {
	case neg && !pos:
		return domain.OutcomeNullo
	case pos && !neg:
		return domain.OutcomePositivo
	}
	return domain.OutcomeUnknown
}

// DefaultRefusalPatterns say, in the Procura's terms, that our request (la
// richiesta) is refused: "la richiesta non può essere evasa", "richiesta
// respinta", "si respinge la richiesta", "non è possibile dare corso alla
// richiesta". Words alone ("rifiuti", "l'istanza è respinta") are not enough:
// the refusal must be about the request.
var DefaultRefusalPatterns = []string{
	`(?i)\brichiest[ae]\b[^.;]{0,80}?\b(?:non\s+(?:pu[oò]\s+essere|(?:[eè]|sono)\s+stat[aie])\s+evas[aie]|non\s+evas[aie]|respint[aie]|rigettat[aie]|irricevibil[ei]|inammissibil[ei]|rifiutat[aie])\b`,
	`(?i)\b(?:si\s+respinge|si\s+rigetta|non\s+si\s+d[àa]\s+corso\s+all?a?)\s+(?:la\s+)?(?:vostr[ao]\s+|sua\s+)?richiest[ae]\b`,
	`(?i)\bnon\s+[eè]\s+possibile\s+(?:evadere|dare\s+corso\s+al(?:la)?)\s+(?:vostr[ao]\s+|sua\s+)?richiest[ae]\b`,
}

var (
	defaultRefusals = mustRefusals(DefaultRefusalPatterns)
	motivoRE        = regexp.MustCompile(`(?i)(?:motivo|motivi|motivazione)\s*:\s*(.+)`)
)

// Refusals recognise the Procura's refusals of a request.
type Refusals struct{ res []*regexp.Regexp }

// NewRefusals compiles a tenant's refusal patterns (tenants
// replies.refusal_patterns); none gives DefaultRefusalPatterns.
func NewRefusals(patterns []string) (*Refusals, error) {
	if len(patterns) == 0 {
		return defaultRefusals, nil
	}
	r := &Refusals{}
	for i, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("reply: refusal pattern %d: %w", i, err)
		}
		r.res = append(r.res, re)
	}
	return r, nil
}

func mustRefusals(p []string) *Refusals {
	r := &Refusals{}
	for _, s := range p {
		r.res = append(r.res, regexp.MustCompile(s))
	}
	return r
}

func (r *Refusals) match(s string) bool {
	for _, re := range r.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// MaxReasonLen bounds the Procura's words kept as a failure reason.
const MaxReasonLen = 500

// Refusal reports whether a reply's subject or text says the request is
// refused, and returns the Procura's words: the line after "motivo:" when
// there is one, else the text, whitespace collapsed, at most MaxReasonLen
// bytes.
func Refusal(subject, text string) (string, bool) { return defaultRefusals.Refusal(subject, text) }

// Refusal is the package function Refusal with r's patterns.
func (r *Refusals) Refusal(subject, text string) (string, bool) {
	if !r.match(subject) && !r.match(text) {
		return "", false
	}
	words := ""
	if sm := motivoRE.FindStringSubmatch(text); sm != nil {
		words = sm[1]
	}
	if strings.TrimSpace(words) == "" {
		words = text
	}
	if strings.TrimSpace(words) == "" {
		words = subject
	}
	words = strings.TrimSuffix(strings.Join(strings.Fields(words), " "), ".")
	if len(words) > MaxReasonLen {
		words = words[:MaxReasonLen]
		for !utf8Valid(words) {
			words = words[:len(words)-1]
		}
	}
	return words, true
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
