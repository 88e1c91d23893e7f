package sim_test

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/segnatura"
	"github.com/casellario-pec/casellario/shared/subjects"
)

var people = []domain.Person{
	{Surname: "ROSSI", Name: "MARIO", Sex: domain.Male, BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1}, BirthPlaceCode: "H501", FiscalCode: "RSSMRA80A01H501U"},
	{Surname: "BIANCHI", Name: "LUCIA", Sex: domain.Female, BirthDate: domain.Date{Year: 1975, Month: 5, Day: 12}, BirthPlaceCode: "G999", FiscalCode: "BNCLCU75E52G999K"},
	{Surname: "VERDI", Name: "GIUSEPPE", Sex: domain.Male, BirthDate: domain.Date{Year: 1990, Month: 10, Day: 3}, BirthPlaceCode: "D612", FiscalCode: "VRDGPP90R03D612P", FatherName: "CARLO"},
	{Surname: "NERI", Name: "ANNA", Sex: domain.Female, BirthDate: domain.Date{Year: 1968, Month: 3, Day: 30}, BirthPlaceCode: "Z112"},
	{Surname: "GIALLI", Name: "PAOLO", Sex: domain.Male, BirthDate: domain.Date{Year: 2000, Month: 7, Day: 7}, BirthPlaceCode: "L840", FiscalCode: "GLLPLA00L07L840Z"},
	{Surname: "BRUNI", Name: "SARA", Sex: domain.Female, BirthDate: domain.Date{Year: 1985, Month: 12, Day: 1}, BirthPlaceCode: "F205", FiscalCode: "BRNSRA85T41F205Q"},
	{Surname: "COLOMBO", Name: "LUCA", Sex: domain.Male, BirthDate: domain.Date{Year: 1977, Month: 2, Day: 14}, BirthPlaceCode: "F205", FiscalCode: "CLMLCU77B14F205R"},
	{Surname: "RICCI", Name: "ELENA", Sex: domain.Female, BirthDate: domain.Date{Year: 1993, Month: 8, Day: 21}, BirthPlaceCode: "A944", FiscalCode: "RCCLNE93M61A944T"},
}

func TestOutcomeIsDeterministic(t *testing.T) {
	n := map[domain.Outcome]int{}
	for _, p := range people {
		o := procura.Outcome(p)
		if o != procura.Outcome(p) {
			t.Fatal("not deterministic")
		}
		if (o == domain.OutcomePositivo) != (procura.Record(p) != "") {
			t.Fatalf("record and outcome disagree for %s", p.FiscalCode)
		}
		n[o]++
	}
	if n[domain.OutcomePositivo] == 0 || n[domain.OutcomeNullo] == 0 {
		t.Fatalf("the test list needs both outcomes: %v", n)
	}
	// About one in five over many people.
	pos := 0
	for i := range 1000 {
		p := people[0]
		p.FiscalCode = "RSSMRA80A01H" + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)) + "U"
		if procura.Outcome(p) == domain.OutcomePositivo {
			pos++
		}
	}
	if pos < 150 || pos > 250 {
		t.Fatalf("%d positivi in 1000", pos)
	}
}

func subjectsFile(t *testing.T, ps []domain.Person) compose.Attachment {
	var b bytes.Buffer
	f := subjects.Default()
	if err := f.Write(&b, ps); err != nil {
		t.Fatal(err)
	}
	return compose.Attachment{Name: f.FileName(), ContentType: "text/csv", Data: b.Bytes()}
}

func letter() compose.Attachment {
	return compose.Attachment{Name: "richiesta.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 lettera"), Primary: true}
}

func seg(number string) *segnatura.Segnatura {
	s := &segnatura.Segnatura{}
	s.Intestazione.Identificatore = segnatura.Identificatore{CodiceAmministrazione: "c_g999", CodiceAOO: "AOO1", CodiceRegistro: "PG", NumeroRegistrazione: number}
	s.SetDate(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	s.Intestazione.Oggetto = "Richiesta certificati del casellario giudiziario"
	s.Descrizione.Mittente = segnatura.Ente{Denominazione: "Comune di Prato", IndirizzoTelematico: sim.ComunePrato}
	return s
}

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const reqSubject = "Richiesta certificati del casellario giudiziario - Prot. n. 0000123 del 25/11/2026"

// TestProcura is the end-to-end test: a request composed with shared/pec/compose
// goes through the provider to the Procura, which answers after its delay.
func TestProcura(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*sim.ProcuraConfig)
		subject string
		seg     *segnatura.Segnatura
		attach  []compose.Attachment
		quote   string   // expected in subject and body
		files   []string // expected attachment names; nil: one per person, fiscal code named
		reason  string   // refusal reason, "" when answered
	}{
		{name: "the subject wins over the segnatura (a clerk copies it)", subject: "Richiesta - Prot. n. 0000999 del 01/01/2026", seg: seg("0012345"),
			quote: "Rif. Vs. prot. n. 0000999 del 01/01/2026"},
		{name: "segnatura when the subject has no reference", subject: "Richiesta certificati", seg: seg("0012345"),
			quote: "Rif. Vs. prot. n. 0012345 del 25/11/2026"},
		{name: "register code kept", subject: "Richiesta - Prot. n. CPEC-0000042 del 02/12/2026",
			quote: "Rif. Vs. prot. n. CPEC-0000042 del 02/12/2026"},
		{name: "protocol from the subject", subject: reqSubject, quote: "Rif. Vs. prot. n. 0000123 del 25/11/2026"},
		{name: "merged", subject: reqSubject, mod: func(c *sim.ProcuraConfig) { c.Mode = procura.ModeMerged },
			quote: "Rif. Vs. prot. n. 0000123 del 25/11/2026", files: []string{"certificati.pdf"}},
		{name: "custom quote and names", subject: reqSubject, mod: func(c *sim.ProcuraConfig) {
			c.Quote, c.FileName = "Vs. nota prot. {numero}/{data}", "{n}_{cognome}_{nome}.pdf"
		}, quote: "Vs. nota prot. 0000123/25/11/2026", files: []string{"1_ROSSI_MARIO.pdf", "2_BIANCHI_LUCIA.pdf", "3_VERDI_GIUSEPPE.pdf",
			"4_NERI_ANNA.pdf", "5_GIALLI_PAOLO.pdf", "6_BRUNI_SARA.pdf", "7_COLOMBO_LUCA.pdf", "8_RICCI_ELENA.pdf"}},
		{name: "no protocol", subject: "Richiesta certificati", reason: "numero di protocollo della richiesta mancante"},
		{name: "short protocol number", subject: "Richiesta - Prot. n. 123 del 25/11/2026", reason: "non validi"},
		{name: "bad protocol date", subject: "Richiesta - Prot. n. 0000123 del 45/13/2026", reason: "non validi"},
		{name: "unreadable segnatura", subject: "Richiesta certificati (riferimenti nella segnatura)",
			attach: []compose.Attachment{{Name: "segnatura.xml", ContentType: "application/xml", Data: []byte("<nope")}}, reason: "segnatura"},
		{name: "unreadable list", subject: reqSubject,
			attach: []compose.Attachment{{Name: "soggetti.csv", ContentType: "text/csv", Data: []byte("NOME;COGNOME\r\nA;B\r\n")}}, reason: "illeggibile (subjects: header"},
		{name: "missing list", subject: reqSubject, attach: []compose.Attachment{letter()}, reason: "mancante"},
		{name: "refuse mode", subject: reqSubject, mod: func(c *sim.ProcuraConfig) { c.Mode = procura.ModeRefuse }, reason: "rifiuto simulato"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := &syncBuffer{}
			w, fc := world(t, func(c *sim.Config) {
				c.Logger = slog.New(slog.NewTextHandler(logs, nil))
				if tc.mod != nil {
					tc.mod(&c.Procura)
				}
			})
			attach := tc.attach
			if attach == nil {
				attach = []compose.Attachment{letter(), subjectsFile(t, people)}
			}
			msg, id := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: tc.subject,
				Attachments: attach, Segnatura: tc.seg}, map[string]string{"X-TipoRicevuta": "breve"})
			if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err != nil {
				t.Fatal(err)
			}
			waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1})
			waitUntil(t, "the request to be read", func() bool { return w.Procura.Pending() == 1 })
			fc.Advance(6*time.Hour - time.Minute) // the evening batch has not run yet
			time.Sleep(50 * time.Millisecond)
			if n := len(w.Procura.Replies()); n != 0 {
				t.Fatalf("%d replies before the delay", n)
			}
			fc.Advance(time.Minute)
			waitUntil(t, "the reply", func() bool { return len(w.Procura.Replies()) == 1 })
			rep := w.Procura.Replies()[0]
			if rep.RequestMessageID != id || rep.To != sim.ComunePrato || rep.Refused != (tc.reason != "") {
				t.Fatalf("reply %+v", rep)
			}
			fs := waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1, pec.KindPostaCertificata: 1})
			env := find(fs, pec.KindPostaCertificata)[0].msg
			o := env.Original
			if env.Sender != sim.Procura || o.Header.MessageID("In-Reply-To") != id || o.Header.MessageID("References") != id {
				t.Fatalf("reply envelope: sender %s, In-Reply-To %q, References %q", env.Sender, o.Header.Get("In-Reply-To"), o.Header.Get("References"))
			}
			text, err := o.Text()
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason != "" {
				if !strings.Contains(text, tc.reason) || !strings.Contains(rep.Reason, tc.reason) || !strings.Contains(o.Subject, "non evasa") {
					t.Fatalf("refusal: subject %q, text %q, reason %q", o.Subject, text, rep.Reason)
				}
				if len(o.Attachments) != 0 {
					t.Fatalf("refusal with attachments")
				}
				checkProcuraMailbox(t, w)
				return
			}
			if !strings.Contains(o.Subject, tc.quote) || !strings.Contains(text, tc.quote) {
				t.Fatalf("quote %q not in subject %q or text %q", tc.quote, o.Subject, text)
			}
			files := tc.files
			if files == nil {
				for i, p := range people {
					if p.FiscalCode == "" {
						files = append(files, "SOGGETTO-"+string(rune('0'+i+1))+".pdf")
					} else {
						files = append(files, p.FiscalCode+".pdf")
					}
				}
			}
			atts := o.Attachments
			if len(atts) != len(files) {
				t.Fatalf("%d attachments, want %d", len(atts), len(files))
			}
			var all []byte
			for i, a := range atts {
				if a.Name != files[i] || a.ContentType != "application/pdf" {
					t.Errorf("attachment %d: %s %s, want %s", i, a.Name, a.ContentType, files[i])
				}
				r, _ := a.Open()
				data, _ := io.ReadAll(r)
				if !bytes.HasPrefix(data, []byte("%PDF-")) {
					t.Fatalf("%s is not a PDF", a.Name)
				}
				if len(atts) > 1 {
					checkCertificate(t, data, people[i], tc.quote)
				}
				all = append(all, data...)
			}
			if len(atts) == 1 {
				if n := bytes.Count(all, []byte("/Type /Page\n")); n != len(people) {
					t.Errorf("merged PDF: %d pages, want %d", n, len(people))
				}
				for _, p := range people {
					checkCertificate(t, all, p, tc.quote)
				}
			}
			checkProcuraMailbox(t, w)
			for _, p := range people {
				for _, s := range []string{p.Surname, p.FiscalCode, p.BirthDate.Italian()} {
					if s != "" && strings.Contains(logs.String(), s) {
						t.Fatalf("the logs carry personal data")
					}
				}
			}
		})
	}
}

// checkCertificate looks for the person's data in the PDF's text objects.
func checkCertificate(t *testing.T, pdf []byte, p domain.Person, quote string) {
	t.Helper()
	for _, s := range []string{p.Surname, p.Name, p.BirthDate.Italian(), p.BirthPlaceCode, p.FiscalCode, quote} {
		if s != "" && !bytes.Contains(pdf, []byte("("+s+")Tj")) {
			t.Errorf("%q not in a text object", s)
		}
	}
	nulla := bytes.Contains(pdf, []byte("("+procura.NullaText+")Tj"))
	if len(pdfPages(pdf)) == 1 && nulla != (procura.Outcome(p) == domain.OutcomeNullo) {
		t.Errorf("%s: NULLA %v, outcome %s", p.Surname, nulla, procura.Outcome(p))
	}
	if procura.Outcome(p) == domain.OutcomePositivo && !bytes.Contains(pdf, []byte("SENTENZA DEL TRIBUNALE")) {
		t.Errorf("%s: positivo without its record", p.Surname)
	}
}

func pdfPages(pdf []byte) [][]byte { return bytes.Split(pdf, []byte("/Type /Page\n"))[1:] }

// checkProcuraMailbox: the request is flagged \Answered, the receipts of the
// reply \Seen.
func checkProcuraMailbox(t *testing.T, w *sim.World) {
	t.Helper()
	waitUntil(t, "the Procura's mailbox to be flagged", func() bool {
		fs := fetchAll(t, w, sim.Procura, "INBOX")
		if !equalKinds(kinds(fs), map[pec.Kind]int{pec.KindPostaCertificata: 1, pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1}) {
			return false
		}
		for _, f := range fs {
			want := imap.FlagSeen
			if f.msg.Kind == pec.KindPostaCertificata {
				want = imap.FlagAnswered
			}
			if !hasFlag(f.flags, want) {
				return false
			}
		}
		return true
	})
}

func hasFlag(fs []imap.Flag, f imap.Flag) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// TestProcuraNeverAnswersTwice: a restart before the reply answers it once; a
// restart after, or a request delivered twice, does not answer again.
func TestProcuraNeverAnswersTwice(t *testing.T) {
	w, fc := world(t, func(c *sim.Config) { c.Faults.DeliverTwice = true })
	msg, _ := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: reqSubject,
		Attachments: []compose.Attachment{subjectsFile(t, people[:2])}}, nil)
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the request to be read", func() bool { return w.Procura.Pending() == 1 })
	if err := w.RestartProcura(); err != nil { // the pending reply is lost with the process
		t.Fatal(err)
	}
	waitUntil(t, "the request to be read again", func() bool { return w.Procura.Pending() == 1 })
	fc.Advance(6 * time.Hour)
	waitUntil(t, "the reply", func() bool { return len(w.Procura.Replies()) == 1 && w.Procura.Pending() == 0 })
	if err := w.RestartProcura(); err != nil {
		t.Fatal(err)
	}
	fc.Advance(24 * time.Hour)
	for range 5 {
		w.Procura.PollNow()
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(w.Procura.Replies()); n != 0 || w.Procura.Pending() != 0 {
		t.Fatalf("answered again after a restart: %d replies, %d pending", n, w.Procura.Pending())
	}
	fs := fetchAll(t, w, sim.ComunePrato, "INBOX")
	if n := len(find(fs, pec.KindPostaCertificata)); n != 2 { // the reply, delivered twice by the fault
		t.Fatalf("%d replies in the Comune's INBOX, want 1 (twice)", n)
	}
	if find(fs, pec.KindPostaCertificata)[0].msg.MessageID != find(fs, pec.KindPostaCertificata)[1].msg.MessageID {
		t.Fatal("two different replies")
	}
}

// TestProcuraSurvivesFaults: a refused SMTP and a cut FETCH only delay the reply.
func TestProcuraSurvivesFaults(t *testing.T) {
	w, fc := world(t, func(c *sim.Config) { c.Procura.Delay = 0 })
	msg, _ := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: reqSubject,
		Attachments: []compose.Attachment{subjectsFile(t, people[:1])}}, nil)
	f := w.Provider.Faults()
	f.CutFetch = &sim.CutFetch{Mailbox: sim.Procura}
	w.Provider.SetFaults(f)
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the cut", func() bool { return w.Provider.Faults().CutFetch == nil && w.Procura.Errors() > 0 })
	f = w.Provider.Faults()
	f.RefuseSMTP = true
	w.Provider.SetFaults(f)
	errs := w.Procura.Errors()
	waitUntil(t, "a refused reply", func() bool { return w.Procura.Errors() > errs+1 })
	if len(w.Procura.Replies()) != 0 {
		t.Fatal("replied while SMTP refuses")
	}
	f.RefuseSMTP = false
	w.Provider.SetFaults(f)
	waitUntil(t, "the reply", func() bool { return len(w.Procura.Replies()) == 1 })
	_ = fc
	checkProcuraMailbox(t, w)
}
