package poll_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/localdev/sim/simtest"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/poll"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/subjects"
	"github.com/casellario-pec/casellario/shared/tenants"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var people = []domain.Person{
	{Surname: "ROSSI", Name: "MARIO", Sex: domain.Male, BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1}, BirthPlaceCode: "H501", FiscalCode: "RSSMRA80A01H501U"},
	{Surname: "BIANCHI", Name: "LUCIA", Sex: domain.Female, BirthDate: domain.Date{Year: 1975, Month: 5, Day: 12}, BirthPlaceCode: "G999", FiscalCode: "BNCLCU75E52G999K"},
	{Surname: "VERDI", Name: "GIUSEPPE", Sex: domain.Male, BirthDate: domain.Date{Year: 1990, Month: 10, Day: 3}, BirthPlaceCode: "D612", FiscalCode: "VRDGPP90R03D612P", FatherName: "CARLO"},
	{Surname: "NERI", Name: "ANNA", Sex: domain.Female, BirthDate: domain.Date{Year: 1968, Month: 3, Day: 30}, BirthPlaceCode: "Z112"},
	{Surname: "GIALLI", Name: "PAOLO", Sex: domain.Male, BirthDate: domain.Date{Year: 2000, Month: 7, Day: 7}, BirthPlaceCode: "L840", FiscalCode: "GLLPLA00L07L840Z"},
	{Surname: "BRUNI", Name: "SARA", Sex: domain.Female, BirthDate: domain.Date{Year: 1985, Month: 12, Day: 1}, BirthPlaceCode: "F205", FiscalCode: "BRNSRA85T41F205Q"},
}

type fx struct {
	w   *sim.World
	st  *store.Dynamo
	d   *s3docs.Docs
	h   *poll.Handler
	t   *tenants.Tenant
	mu  sync.Mutex
	got []notice.Event
}

// newFx is a poll over the simulator, dynalite and gofakes3, for the demo's
// first Comune with its mailbox in mode (tenants.MailboxShared or Dedicated).
func newFx(tb testing.TB, mode string, mod func(*sim.Config)) *fx {
	tb.Helper()
	env := testenv.New(tb)
	cfg := sim.Default()
	cfg.Dir = tb.TempDir()
	cfg.Procura.Poll = clock.Duration(20 * time.Millisecond)
	cfg.Procura.Delay = 0
	if mod != nil {
		mod(&cfg)
	}
	w := simtest.Start(tb, cfg)
	f := &fx{w: w}
	f.st = store.New(env.Dynamo, store.Options{Table: env.Table})
	f.d = s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents, SSE: s3docs.SSENone})
	demo := tenants.Demo()
	tn := demo.Tenants[0]
	tn.PEC.IMAP, tn.PEC.SMTP = w.IMAPAddr, w.SMTPAddr
	tn.PEC.Auth = tenants.Secret{Password: w.Password(sim.ComunePrato)}
	tn.PEC.Mode = mode
	tc := &tenants.Config{Tenants: []tenants.Tenant{tn}}
	if err := tc.Validate(); err != nil {
		tb.Fatal(err)
	}
	f.t = &tc.Tenants[0]
	f.h = &poll.Handler{Store: f.st, Triage: f.st, Docs: f.d, Tenants: tc,
		Mail:  &pecmail.IMAP{Secrets: pecmail.LocalSecrets(), TLS: w.CA.ClientTLS(), Timeout: 10 * time.Second},
		Trust: w.CA.Pool(), Deadline: 30 * time.Second, Notify: f}
	return f
}

// Publish records the poll's notices.
func (f *fx) Publish(_ context.Context, ev notice.Event) error {
	f.mu.Lock()
	f.got = append(f.got, ev)
	f.mu.Unlock()
	return nil
}

func (f *fx) notices(k notice.Kind) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, x := range f.got {
		if x.Kind == k {
			n++
		}
	}
	return n
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

var cause = domain.CauseUser("test")

// batch sets up a protocolled batch of ps through the store, with a Message-ID.
func (f *fx) batch(tb testing.TB, ps []domain.Person) (domain.Batch, *compose.Composed) {
	tb.Helper()
	ctx := context.Background()
	up := domain.NewID()
	must[domain.Upload](tb)(f.st.CreateUpload(ctx, domain.Upload{ID: up, Tenant: f.t.ID, Office: "SUAP", Key: f.t.ID + "/SUAP/" + up + "/list.csv",
		SHA256: strings.Repeat("ab", 32)}, domain.CauseS3("k", "v")))
	var subs []domain.Subject
	var ids []string
	for i, p := range ps {
		subs = append(subs, domain.Subject{Row: i + 2, Person: p})
		ids = append(ids, domain.SubjectID(up, i+2))
	}
	if err := f.st.PutSubjects(ctx, f.t.ID, up, subs); err != nil {
		tb.Fatal(err)
	}
	must[domain.Upload](tb)(f.st.AdvanceUpload(ctx, f.t.ID, up, domain.UploadQueued, &domain.Counts{Rows: len(ps), Valid: len(ps)}, "r", domain.Reason{}, cause))
	b := must[domain.Batch](tb)(f.st.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: f.t.ID, Office: "SUAP", People: ids}, cause))
	if _, err := f.st.ClaimSubjects(ctx, f.t.ID, b.ID, cause); err != nil {
		tb.Fatal(err)
	}
	b = must[domain.Batch](tb)(f.st.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: f.t.ID, AOO: f.t.AOO, Registry: f.t.Protocol.Registry,
		Batch: b.ID, Date: domain.DateOf(time.Now()), Cause: cause}))
	var list bytes.Buffer
	if err := subjects.Default().Write(&list, ps); err != nil {
		tb.Fatal(err)
	}
	c := must[*compose.Composed](tb)(compose.New(compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura},
		Subject: fmt.Sprintf("Richiesta certificati del casellario giudiziario - Prot. n. %s del %s", b.Protocol.Reference(), b.Protocol.Date.Italian()),
		Text:    "Si richiedono i certificati.\r\n",
		Attachments: []compose.Attachment{{Name: "richiesta.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 lettera"), Primary: true},
			{Name: subjects.Default().FileName(), ContentType: "text/csv", Data: list.Bytes()}}}))
	b = must[domain.Batch](tb)(f.st.SetMessageID(ctx, f.t.ID, b.ID, c.MessageID))
	return b, c
}

// send submits the request and marks the batch sent.
func (f *fx) send(tb testing.TB, b domain.Batch, c *compose.Composed) domain.Batch {
	tb.Helper()
	h, p, _ := net.SplitHostPort(f.w.SMTPAddr)
	port, _ := strconv.Atoi(p)
	cl, err := gomail.NewClient(h, gomail.WithPort(port), gomail.WithSSL(), gomail.WithTLSConfig(f.w.CA.ClientTLS()),
		gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(sim.ComunePrato), gomail.WithPassword(f.w.Password(sim.ComunePrato)))
	if err != nil {
		tb.Fatal(err)
	}
	if err := cl.DialAndSend(c.Msg); err != nil {
		tb.Fatal(err)
	}
	return must[domain.Batch](tb)(f.st.AdvanceBatch(context.Background(), domain.BatchChange{Tenant: f.t.ID, ID: b.ID, To: domain.BatchSent, Cause: cause}))
}

// runUntil polls until cond holds (the Procura answers asynchronously).
func (f *fx) runUntil(tb testing.TB, what string, cond func() bool) poll.MailboxSummary {
	tb.Helper()
	var total poll.MailboxSummary
	deadline := time.Now().Add(15 * time.Second)
	for {
		sum, err := f.h.Run(context.Background(), domain.CauseSchedule("test"))
		if err != nil {
			tb.Fatal(err)
		}
		t := sum.Total()
		total.Fetched += t.Fetched
		total.Duplicates += t.Duplicates
		total.Receipts += t.Receipts
		total.Replies += t.Replies
		total.Certificates += t.Certificates
		total.Triaged += t.Triaged
		if cond() {
			return total
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s (so far %+v)", what, total)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fx) state(tb testing.TB, id string) domain.BatchState {
	return must[domain.Batch](tb)(f.st.GetBatch(context.Background(), f.t.ID, id)).State
}

func (f *fx) checkCertified(t *testing.T, b domain.Batch) map[string]bool {
	t.Helper()
	ctx := context.Background()
	shas := map[string]bool{}
	for _, s := range must[[]domain.Subject](t)(f.st.SubjectsOfBatch(ctx, f.t.ID, b.ID)) {
		if s.State != domain.PersonCertified || s.Certificate == nil {
			t.Fatalf("subject %s is %s", s.ID, s.State)
		}
		if want := procura.Outcome(s.Person); s.Certificate.Outcome != want {
			t.Errorf("subject %s: outcome %s, want %s", s.ID, s.Certificate.Outcome, want)
		}
		data, obj, err := f.d.GetBytes(ctx, f.d.Document(s.Certificate.Key))
		if err != nil || obj.SHA256 != s.Certificate.SHA256 || !bytes.HasPrefix(data, []byte("%PDF")) {
			t.Errorf("subject %s: certificate %s: %v", s.ID, s.Certificate.Key, err)
		}
		shas[s.Certificate.SHA256] = true
	}
	return shas
}

func (f *fx) eventStates(t *testing.T, b domain.Batch) string {
	var s []string
	for _, e := range must[[]domain.Event](t)(f.st.Events(context.Background(), f.t.ID, b.ID)) {
		s = append(s, e.State)
	}
	return strings.Join(s, ",")
}

// TestPerPersonReply is the whole round trip: request through the simulator,
// receipts, the Procura's reply with one PDF per person, every envelope
// delivered twice.
func TestPerPersonReply(t *testing.T) {
	f := newFx(t, tenants.MailboxShared, func(c *sim.Config) { c.Faults.DeliverTwice = true })
	b, c := f.batch(t, people)
	b = f.send(t, b, c)
	total := f.runUntil(t, "batch completed", func() bool { return f.state(t, b.ID) == domain.BatchCompleted })
	if shas := f.checkCertified(t, b); len(shas) != len(people) {
		t.Errorf("%d distinct certificates for %d people", len(shas), len(people))
	}
	ev := f.eventStates(t, b)
	for _, st := range []string{"accepted", "delivered", "replied", "completed"} {
		if !strings.Contains(ev, st) {
			t.Errorf("events %s lack %s", ev, st)
		}
	}
	if total.Duplicates == 0 {
		t.Errorf("the envelope delivered twice was not seen as a duplicate: %+v", total)
	}
	if total.Triaged != 0 || f.notices(notice.Delivered) != 1 || f.notices(notice.Certificates) != 1 {
		t.Errorf("summary %+v, notices %+v", total, f.got)
	}
	// Nothing left: a further poll fetches nothing.
	sum := must[poll.Summary](t)(f.h.Run(context.Background(), domain.CauseSchedule("again")))
	if sum.Total().Fetched != 0 {
		t.Errorf("a poll after everything was handled fetched %d", sum.Total().Fetched)
	}
}

func TestMergedReply(t *testing.T) {
	f := newFx(t, tenants.MailboxDedicated, func(c *sim.Config) { c.Procura.Mode = procura.ModeMerged })
	b, c := f.batch(t, people)
	b = f.send(t, b, c)
	f.runUntil(t, "batch completed", func() bool { return f.state(t, b.ID) == domain.BatchCompleted })
	if shas := f.checkCertified(t, b); len(shas) != len(people) {
		t.Errorf("merged PDF not split: %d distinct certificates for %d people", len(shas), len(people))
	}
}

func TestRefusal(t *testing.T) {
	f := newFx(t, tenants.MailboxShared, func(c *sim.Config) { c.Procura.Mode = procura.ModeRefuse })
	b, c := f.batch(t, people[:2])
	b = f.send(t, b, c)
	f.runUntil(t, "batch failed", func() bool { return f.state(t, b.ID) == domain.BatchFailed })
	got := must[domain.Batch](t)(f.st.GetBatch(context.Background(), f.t.ID, b.ID))
	if got.Reason.Code != domain.ReasonProcuraRefused || !strings.Contains(got.Reason.Detail, "rifiuto simulato") {
		t.Errorf("reason %q lacks the Procura's words", got.Reason)
	}
	for _, s := range must[[]domain.Subject](t)(f.st.SubjectsOfBatch(context.Background(), f.t.ID, b.ID)) {
		if s.State != domain.PersonFailed {
			t.Errorf("subject %s is %s", s.ID, s.State)
		}
	}
}
