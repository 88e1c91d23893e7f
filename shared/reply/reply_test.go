package reply

import (
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestFind(t *testing.T) {
	m, err := NewMatcher([]string{`(?i)prot(?:ocollo)?\.?\s*(?:n\.?|nr\.?|numero)?\s*([0-9]{7,})`}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text   string
		number string
		year   int
		date   domain.Date
	}{
		{"Vs. prot. n. 0012345/2026", "0012345", 2026, domain.Date{}},
		{"protocollo n. 12345 del 25/11/2026", "12345", 2026, domain.Date{Year: 2026, Month: 11, Day: 25}},
		{"Rif. Vs. prot. 12345 del 25.11.2026", "12345", 2026, domain.Date{Year: 2026, Month: 11, Day: 25}},
		{"Certificati - Rif. Vs. prot. n. 0012345 del 25/11/2026", "0012345", 2026, domain.Date{Year: 2026, Month: 11, Day: 25}},
		{"PROT. NR. 0000042", "0000042", 0, domain.Date{}},
	} {
		refs := m.Find(c.text)
		if len(refs) != 1 || refs[0].Value() != (ProtocolRef{Number: c.number}).Value() || refs[0].Year != c.year || refs[0].Date != c.date {
			t.Errorf("%q: %+v", c.text, refs)
		}
	}
	if refs := m.Find("nessun riferimento"); len(refs) != 0 {
		t.Errorf("found %+v", refs)
	}
	if _, err := NewMatcher([]string{"("}, ""); err == nil {
		t.Error("bad pattern accepted")
	}
}

// The built-in register's numbers are found with their code only; the same
// digits without it are a general register's number.
func TestFindRegisterCode(t *testing.T) {
	m, err := NewMatcher(nil, "CPEC")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		text     string
		register string
		number   string
		date     domain.Date
	}{
		{"Rif. Vs. prot. n. CPEC-0000012 del 02/12/2026", "CPEC", "0000012", domain.Date{Year: 2026, Month: 12, Day: 2}},
		{"vostra richiesta cpec/12", "CPEC", "12", domain.Date{}},
		{"Vs. prot. n. 12 del 15/01/2026", "", "12", domain.Date{Year: 2026, Month: 1, Day: 15}},
		{"prot. n. XCPEC-0000012", "", "", domain.Date{}}, // another code
	} {
		refs := m.Find(c.text)
		if c.number == "" {
			if len(refs) != 0 {
				t.Errorf("%q: %+v", c.text, refs)
			}
			continue
		}
		if len(refs) != 1 || refs[0].Register != c.register || refs[0].Number != c.number || refs[0].Date != c.date {
			t.Errorf("%q: %+v", c.text, refs)
		}
	}
}

func TestRefusals(t *testing.T) {
	for text, want := range map[string]bool{
		"La richiesta non può essere evasa per il seguente motivo: x": true,
		"la Vostra richiesta è stata respinta":                        true,
		"Si respinge la richiesta in oggetto.":                        true,
		"Non è possibile dare corso alla richiesta.":                  true,
		"Richiesta di certificati non evasa":                          true,
		"l'istanza è respinta":                                        false,
		"Comunicazione sulla raccolta dei rifiuti":                    false,
		"Si trasmettono i certificati richiesti. Nessun rifiuto.":     false,
		"La richiesta è stata evasa: si trasmettono i certificati.":   false,
	} {
		if _, got := Refusal("", text); got != want {
			t.Errorf("%q: refusal %v, want %v", text, got, want)
		}
	}
	r, err := NewRefusals([]string{`(?i)\bdiniego\b`})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Refusal("Diniego", ""); !ok {
		t.Error("a tenant's pattern not used")
	}
	if _, ok := r.Refusal("", "La richiesta non può essere evasa"); ok {
		t.Error("a tenant's patterns replace the defaults")
	}
	if _, err := NewRefusals([]string{"("}); err == nil {
		t.Error("a bad pattern accepted")
	}
}

func TestOutcome(t *testing.T) {
	for text, want := range map[string]domain.Outcome{
		"Nel casellario giudiziario risulta:\nNULLA": domain.OutcomeNullo,
		"Certificato nullo":                          domain.OutcomeNullo,
		"risulta: SENTENZA DEL TRIBUNALE DI PRATO N. 1/2020, IRREVOCABILE, PER IL REATO": domain.OutcomePositivo,
		"":                      domain.OutcomeUnknown,
		"NULLA ... SENTENZA":    domain.OutcomeUnknown,
		"nulla osta rilasciato": domain.OutcomeUnknown,
	} {
		if got := Outcome(text); got != want {
			t.Errorf("%q: %s, want %s", text, got, want)
		}
	}
}

func TestRefusal(t *testing.T) {
	words, ok := Refusal("Richiesta di certificati non evasa - Rif. Vs. prot. n. 1",
		"In riferimento alla Rif.,\r\nla richiesta non può essere evasa per il seguente motivo:\r\nelenco dei soggetti mancante.\r\n\r\nSi prega")
	if !ok || words != "elenco dei soggetti mancante" {
		t.Errorf("%v %q", ok, words)
	}
	if _, ok := Refusal("Certificati del casellario", "Si trasmettono i certificati."); ok {
		t.Error("not a refusal")
	}
}

func TestWho(t *testing.T) {
	ps := []domain.Person{
		{Surname: "ROSSI", Name: "MARIO", BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1}, FiscalCode: "RSSMRA80A01H501U"},
		{Surname: "D'ANGELO", Name: "NICOLÒ", BirthDate: domain.Date{Year: 1968, Month: 3, Day: 30}},
	}
	w := NewWho(ps)
	if got := w.InName("RSSMRA80A01H501U.pdf"); len(got) != 1 || got[0] != 0 {
		t.Errorf("name: %v", got)
	}
	if got := w.InText("Cognome D'Angelo Nome Nicolo Data di nascita 30/03/1968"); len(got) != 1 || got[0] != 1 {
		t.Errorf("text: %v", got)
	}
	if got := w.InText("Cognome ROSSI Nome MARIO Data di nascita 02/01/1980"); len(got) != 0 {
		t.Errorf("wrong birth date matched: %v", got)
	}
	parts, ok := w.Assign([]string{"RSSMRA80A01H501U", "continua", "D'ANGELO NICOLO 30/03/1968"})
	if !ok || len(parts) != 2 || len(parts[0].Pages) != 2 || parts[1].Person != 1 {
		t.Errorf("assign: %+v %v", parts, ok)
	}
	if _, ok := w.Assign([]string{"RSSMRA80A01H501U D'ANGELO NICOLO 30/03/1968"}); ok {
		t.Error("a page naming two people was assigned")
	}
}
