package poll_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// procuraReply is a PEC whose certified sender is sender (the Procura, or
// another), carrying the given certificates of people, as its provider
// delivers it to the Comune. from is the original's From header.
type procuraReply struct {
	sender, from  string
	subject, text string
	inReplyTo     string
	replyTo       string // the original's Reply-To: it shows in the envelope's header
	certs         []domain.Person
	otherCert     bool // a second, different certificate (another issue date)
}

var pdfs = map[string][]byte{}

func (b *box) reply(t *testing.T, r procuraReply) []byte {
	t.Helper()
	if r.sender == "" {
		r.sender = sim.Procura
	}
	if r.from == "" {
		r.from = r.sender
	}
	m := compose.Mail{From: r.from, To: []string{b.t.PEC.Address}, Subject: r.subject, Text: r.text}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if r.otherCert {
		at = at.Add(24 * time.Hour)
	}
	for _, p := range r.certs {
		// fpdf's bytes vary between calls (its maps): made once, the same
		// certificate sent again is the same file.
		k := fmt.Sprint(p.FiscalCode, r.subject, at)
		pdf, ok := pdfs[k]
		if !ok {
			var err error
			if pdf, err = procura.CertificatePDF(p, r.subject, at); err != nil {
				t.Fatal(err)
			}
			pdfs[k] = pdf
		}
		m.Attachments = append(m.Attachments, compose.Attachment{Name: p.FiscalCode + ".pdf", ContentType: "application/pdf", Data: pdf})
	}
	var orig bytes.Buffer
	if _, err := compose.Write(&orig, m); err != nil {
		t.Fatal(err)
	}
	raw := orig.Bytes()
	if r.inReplyTo != "" {
		raw = append([]byte("In-Reply-To: "+r.inReplyTo+"\r\n"), raw...)
	}
	if r.replyTo != "" {
		raw = append([]byte("Reply-To: "+r.replyTo+"\r\n"), raw...)
	}
	var env bytes.Buffer
	if _, err := pec.WriteEnvelope(&env, raw, pec.EnvelopeSpec{Sender: r.sender, Recipients: []pec.Recipient{{Address: b.t.PEC.Address, Type: pec.RecipientCertificato}},
		Domain: "gestore.test"}, b.signer); err != nil {
		t.Fatal(err)
	}
	return env.Bytes()
}

func ref(bt domain.Batch) string {
	return bt.Protocol.Reference() + " del " + bt.Protocol.Date.Italian()
}

// TestAttribution: every matching rule, on the replies a Procura (or someone
// else) may send. Each case starts from a request sent for people[0], waiting
// for its reply.
func TestAttribution(t *testing.T) {
	p := people[0]
	for _, tc := range []struct {
		name      string
		reply     func(bt domain.Batch) procuraReply
		certified bool              // people[0] certified by it
		state     domain.BatchState // the request's state after it
		triage    domain.ReasonCode // "" when nothing goes to triage
	}{
		{"number and date quoted", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Certificati - Rif. Vs. prot. n. " + ref(bt), certs: []domain.Person{p}}
		}, true, domain.BatchCompleted, ""},
		{"In-Reply-To our Message-ID", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Certificati richiesti", inReplyTo: bt.MessageID, certs: []domain.Person{p}}
		}, true, domain.BatchCompleted, ""},
		{"number without date, certificates confirm it", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Certificati - Rif. prot. " + bt.Protocol.Reference(), certs: []domain.Person{p}}
		}, true, domain.BatchCompleted, ""},
		{"number without date, certificate of someone else", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Certificati - Rif. prot. " + bt.Protocol.Reference(), certs: []domain.Person{people[1]}}
		}, false, domain.BatchSent, domain.ReasonWeakMatch},
		{"number with another date of the same year", func(bt domain.Batch) procuraReply {
			other := bt.Protocol.Date.Time().AddDate(0, 0, 1)
			if other.Year() != bt.Protocol.Date.Year {
				other = bt.Protocol.Date.Time().AddDate(0, 0, -1)
			}
			return procuraReply{subject: "Certificati - Rif. Vs. prot. n. " + bt.Protocol.Reference() + " del " + domain.DateOf(other).Italian(), certs: []domain.Person{p}}
		}, false, domain.BatchSent, domain.ReasonDateMismatch},
		{"number of another year", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Certificati - Rif. Vs. prot. n. " + bt.Protocol.Reference() + " del 15/01/2020", certs: []domain.Person{p}}
		}, false, domain.BatchSent, domain.ReasonNoMatch},
		{"a general-register number of the same digits: an unrelated refusal", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Istanza di accesso agli atti",
				text: "Vs. prot. n. " + strings.TrimLeft(bt.Protocol.Number, "0") + " del 15/01/" + bt.Protocol.Date.Italian()[6:] + " - l'istanza è respinta."}
		}, false, domain.BatchSent, domain.ReasonNoMatch},
		{"certified sender not the Procura, From header forged", func(bt domain.Batch) procuraReply {
			return procuraReply{sender: "falso@pec.altro.test", from: sim.Procura, replyTo: sim.Procura,
				subject: "Certificati - Rif. Vs. prot. n. " + ref(bt), certs: []domain.Person{p}}
		}, false, domain.BatchSent, domain.ReasonNotProcura},
		{"refusal referring to the request", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Richiesta non evasa - Rif. Vs. prot. n. " + ref(bt),
				text: "La richiesta non può essere evasa per il seguente motivo: elenco incompleto."}
		}, false, domain.BatchFailed, ""},
		{"refusal quoting the number without its date", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Richiesta non evasa - Rif. prot. " + bt.Protocol.Reference(),
				text: "La richiesta non può essere evasa."}
		}, false, domain.BatchSent, domain.ReasonUnsettledRefusal},
		{"'rifiuti' is not a refusal", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Rif. Vs. prot. n. " + ref(bt), text: "Comunicazione sulla raccolta dei rifiuti."}
		}, false, domain.BatchSent, domain.ReasonUnrecognisedReply},
		{"no reference at all", func(bt domain.Batch) procuraReply {
			return procuraReply{subject: "Comunicazione", text: "Gentili colleghi, vi scriviamo per...", certs: []domain.Person{p}}
		}, false, domain.BatchSent, domain.ReasonNoReference},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBox(t, tenants.MailboxShared)
			bt := b.sentBatch(t)
			b.mb.Append("INBOX", b.reply(t, tc.reply(bt)))
			if _, err := b.run(t); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			got := must[domain.Batch](t)(b.st.GetBatch(ctx, b.t.ID, bt.ID))
			subs := must[[]domain.Subject](t)(b.st.SubjectsOfBatch(ctx, b.t.ID, bt.ID))
			if got.State != tc.state || (subs[0].State == domain.PersonCertified) != tc.certified {
				t.Errorf("request %s, person %s; want %s, certified %v", got.State, subs[0].State, tc.state, tc.certified)
			}
			items := must[[]domain.TriageItem](t)(b.st.ListTriage(ctx, b.t.ID, domain.TriageOpen, 0))
			switch {
			case tc.triage == "" && len(items) != 0:
				t.Errorf("triage %+v", items)
			case tc.triage != "" && (len(items) != 1 || items[0].Reason.Code != tc.triage):
				t.Errorf("triage %+v, want one item %s", items, tc.triage)
			}
		})
	}
}

// Two pieces of evidence pointing at two requests: nobody guesses.
func TestAttributionSeveralRequests(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	one, two := b.sentBatch(t), b.sentBatch(t)
	b.mb.Append("INBOX", b.reply(t, procuraReply{subject: "Rif. Vs. prot. n. " + ref(one), inReplyTo: two.MessageID, certs: []domain.Person{people[0]}}))
	if _, err := b.run(t); err != nil {
		t.Fatal(err)
	}
	items := must[[]domain.TriageItem](t)(b.st.ListTriage(context.Background(), b.t.ID, domain.TriageOpen, 0))
	if len(items) != 1 || items[0].Reason.Code != domain.ReasonSeveralMatches ||
		!strings.Contains(items[0].Reason.Detail, one.ID) || !strings.Contains(items[0].Reason.Detail, two.ID) {
		t.Fatalf("triage %+v", items)
	}
}

// A second, different certificate for a certified person is kept as a
// candidate and goes to triage; the one that stands does not change. The
// same certificate again changes nothing.
func TestSecondCertificate(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	bt := b.sentBatch(t)
	ctx := context.Background()
	first := procuraReply{subject: "Certificati - Rif. Vs. prot. n. " + ref(bt), certs: []domain.Person{people[0]}}
	b.mb.Append("INBOX", b.reply(t, first))
	if _, err := b.run(t); err != nil {
		t.Fatal(err)
	}
	before := must[[]domain.Subject](t)(b.st.SubjectsOfBatch(ctx, b.t.ID, bt.ID))[0]
	again := first
	again.text = "Inviato di nuovo." // another message, the same certificate
	b.mb.Append("INBOX", b.reply(t, again))
	second := first
	second.otherCert = true
	b.mb.Append("INBOX", b.reply(t, second))
	if _, err := b.run(t); err != nil {
		t.Fatal(err)
	}
	after := must[[]domain.Subject](t)(b.st.SubjectsOfBatch(ctx, b.t.ID, bt.ID))[0]
	if *after.Certificate != *before.Certificate || len(after.Candidates) != 1 || after.Candidates[0].SHA256 == before.Certificate.SHA256 {
		t.Fatalf("before %+v, after %+v (candidates %+v)", before.Certificate, after.Certificate, after.Candidates)
	}
	if _, _, err := b.d.GetBytes(ctx, b.d.Document(after.Candidates[0].Key)); err != nil {
		t.Fatalf("candidate not stored: %v", err)
	}
	items := must[[]domain.TriageItem](t)(b.st.ListTriage(ctx, b.t.ID, domain.TriageOpen, 0))
	if len(items) != 1 || items[0].Reason.Code != domain.ReasonSecondCertificate {
		t.Fatalf("triage %+v", items)
	}
	// The protocol office decides: the candidate stands, the first is kept as one.
	chosen := must[domain.Subject](t)(b.st.ChooseCertificate(ctx, b.t.ID, after.ID, after.Candidates[0].SHA256, "the Procura corrected it", domain.CauseUser("protocollo")))
	if chosen.Certificate.SHA256 != after.Candidates[0].SHA256 || len(chosen.Candidates) != 1 || chosen.Candidates[0].SHA256 != before.Certificate.SHA256 {
		t.Fatalf("after choosing: %+v %+v", chosen.Certificate, chosen.Candidates)
	}
	evs := must[[]domain.Event](t)(b.st.Events(ctx, b.t.ID, after.Upload))
	found := false
	for _, e := range evs {
		found = found || (strings.Contains(e.Detail, "chosen to stand") && strings.Contains(e.Detail, "corrected") && e.Cause == domain.CauseUser("protocollo"))
	}
	if !found {
		t.Errorf("the choice is not in the audit trail: %+v", evs)
	}
}

// craftedPDF is a PDF whose one page draws 8 MB of nested arrays: the kind
// of file that overflowed the stack of the reader used before.
func craftedPDF() []byte {
	content := bytes.Repeat([]byte("["), 8<<20)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n")
	fmt.Fprintf(&b, "4 0 obj\n<< /Length %d >>\nstream\n", len(content))
	b.Write(content)
	b.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

// A PEC from the Procura quoting the request, carrying a hostile PDF under
// a person's name: polling neither crashes nor stops, the file certifies
// nobody and goes to triage with its reason, and the genuine reply after it
// certifies the person.
func TestHostilePDF(t *testing.T) {
	b := newBox(t, tenants.MailboxShared)
	bt := b.sentBatch(t)
	ctx := context.Background()
	var orig bytes.Buffer
	if _, err := compose.Write(&orig, compose.Mail{From: sim.Procura, To: []string{b.t.PEC.Address}, Subject: "Certificati - Rif. Vs. prot. n. " + ref(bt),
		Attachments: []compose.Attachment{{Name: people[0].FiscalCode + ".pdf", ContentType: "application/pdf", Data: craftedPDF()}}}); err != nil {
		t.Fatal(err)
	}
	var env bytes.Buffer
	if _, err := pec.WriteEnvelope(&env, orig.Bytes(), pec.EnvelopeSpec{Recipients: []pec.Recipient{{Address: b.t.PEC.Address, Type: pec.RecipientCertificato}},
		Domain: "gestore.test"}, b.signer); err != nil {
		t.Fatal(err)
	}
	b.mb.Append("INBOX", env.Bytes())
	genuine := b.mb.Append("INBOX", b.reply(t, procuraReply{subject: "Certificati - Rif. Vs. prot. n. " + ref(bt), certs: []domain.Person{people[0]}}))
	sum, err := b.run(t)
	if err != nil || sum.Replies != 2 || sum.Certificates != 1 || sum.Triaged != 1 || b.cursor(t) != genuine {
		t.Fatalf("summary %+v %v, cursor %d", sum, err, b.cursor(t))
	}
	items := must[[]domain.TriageItem](t)(b.st.ListTriage(ctx, b.t.ID, domain.TriageOpen, 0))
	if len(items) != 1 || items[0].Reason.Code != domain.ReasonUnreadablePDF || !strings.Contains(items[0].Reason.Detail, "limit") {
		t.Fatalf("triage %+v", items)
	}
	s := must[[]domain.Subject](t)(b.st.SubjectsOfBatch(ctx, b.t.ID, bt.ID))[0]
	if s.State != domain.PersonCertified || s.Certificate == nil || s.Certificate.Outcome != procura.Outcome(people[0]) || len(s.Candidates) != 0 {
		t.Fatalf("person %+v", s)
	}
	u := must[domain.Upload](t)(b.st.GetUpload(ctx, b.t.ID, s.Upload))
	if u.State != domain.UploadCompleted {
		t.Errorf("the list is %s, want completed", u.State)
	}
}
