package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/aws/aws-lambda-go/events"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/dispatch"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/intake"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/simtest"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
	"github.com/casellario-pec/casellario/shared/uploads"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	prato = "c_g999"
	suap  = "SUAP"
)

// clock is a settable clock shared by the store and the handlers.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// stack is the local world of one test: dynalite, gofakes3, the PEC
// simulator, and the two handlers wired to them.
type stack struct {
	env     *testenv.Env
	world   *sim.World
	clock   *clock
	store   *store.Dynamo
	docs    *s3docs.Docs
	tenants *tenants.Config
	intake  *intake.Handler
	disp    *dispatch.Handler
	smtp    *pecmail.SMTP
	imap    *pecmail.IMAP
}

type stackOpt struct {
	procura   bool // run the simulated Procura (replies)
	batchSize int
	offices   int // offices of Prato kept (default 2)
}

func newStack(t testing.TB, o stackOpt) *stack {
	t.Helper()
	env := testenv.New(t)
	cfg := sim.Default()
	cfg.Dir = t.TempDir()
	cfg.Procura.Disabled = !o.procura
	cfg.Procura.Delay = 0
	cfg.Procura.Poll = 50 * 1e6
	w := simtest.Start(t, cfg)
	tc := tenants.Demo()
	if o.offices == 0 {
		o.offices = 2
	}
	for i := range tc.Tenants {
		tt := &tc.Tenants[i]
		tt.PEC.SMTP, tt.PEC.IMAP = w.SMTPAddr, w.IMAPAddr
		tt.PEC.Auth = tenants.Secret{Password: w.Password(tt.PEC.Address)}
		if o.batchSize > 0 {
			tt.BatchSize = o.batchSize
		}
	}
	tc.Tenants = tc.Tenants[:1]
	tc.Tenants[0].Offices = tc.Tenants[0].Offices[:o.offices]
	if err := tc.Validate(); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	st := store.New(env.Dynamo, store.Options{Table: env.Table, Now: clk.Now})
	d := s3docs.New(env.S3, s3docs.Options{UploadsBucket: env.Uploads, DocumentsBucket: env.Documents})
	tlsCfg, err := pecmail.TLSWithRoots(w.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	secrets := pecmail.LocalSecrets()
	smtp := &pecmail.SMTP{Secrets: secrets, TLS: tlsCfg, Timeout: 5 * time.Second}
	trust, err := pec.ParseTrustStore(w.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	im := &pecmail.IMAP{Secrets: secrets, TLS: tlsCfg, TrustStore: trust, Timeout: 5 * time.Second}
	log := slog.New(slog.DiscardHandler)
	return &stack{
		env: env, world: w, clock: clk, store: st, docs: d, tenants: tc, smtp: smtp, imap: im,
		intake: &intake.Handler{Store: st, Docs: d, Tenants: tc, Log: log, Now: clk.Now},
		disp: &dispatch.Handler{Store: st, Docs: d, Tenants: tc, Sender: smtp, Mailbox: im, Secrets: secrets, Log: log, Now: clk.Now,
			Grace: time.Minute},
	}
}

var (
	surnames = []string{"Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo",
		"Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana"}
	names = []string{"Mario", "Luigi", "Giuseppe", "Anna", "Maria", "Francesca", "Paolo", "Giovanni", "Lucia", "Chiara",
		"Elena", "Sara", "Marco", "Luca", "Giulia", "Andrea"}
)

// person i of a generated list: distinct people, born in Rome or Germany.
func person(i int) []string {
	sur, name := surnames[i%len(surnames)], names[(i/len(surnames))%len(names)]
	sex := domain.Male
	if i%2 == 1 {
		sex = domain.Female
	}
	born := domain.DateOf(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*7))
	if i%5 == 4 {
		return []string{sur, name, string(sex), born.Italian(), "Germania", "", ""}
	}
	return []string{sur, name, string(sex), born.Italian(), "Roma", "RM", fiscalcode.Compute(sur, name, sex, born, "H501")}
}

// listCSV is a CSV list of people from..to-1, plus the extra raw rows.
func listCSV(from, to int, extra ...[]string) []byte {
	var b bytes.Buffer
	b.WriteString("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Provincia;Codice fiscale\r\n")
	for i := from; i < to; i++ {
		b.WriteString(strings.Join(person(i), ";") + "\r\n")
	}
	for _, r := range extra {
		b.WriteString(strings.Join(r, ";") + "\r\n")
	}
	return b.Bytes()
}

// upload stores a list as the CLI would and runs the intake on it.
func (s *stack) upload(t testing.TB, office string, data []byte, meta map[string]string) domain.Upload {
	t.Helper()
	id := domain.NewID()
	key := s3docs.UploadKey(prato, office, id, "csv")
	obj, err := s.docs.PutWithMetadata(context.Background(), s.docs.Upload(key), "text/csv", bytes.NewReader(data), meta)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.intake.Process(context.Background(), key, obj.Version, domain.CauseS3(key, obj.Version))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// submit hands a list in with the protocol office's number, as the API and
// the CLI do, and runs the intake on it.
func (s *stack) submit(t testing.TB, office string, data []byte, p *domain.Protocol) domain.Upload {
	t.Helper()
	u, err := uploads.Submit(context.Background(), s.store, s.docs, uploads.Submission{Tenant: prato, Office: office, Ext: "csv",
		UploadedBy: "protocollo", Protocol: p, Data: data}, domain.CauseUser("protocollo"))
	if err != nil {
		t.Fatal(err)
	}
	if u, err = s.intake.Process(context.Background(), u.Key, "", domain.CauseS3(u.Key, "")); err != nil {
		t.Fatal(err)
	}
	return u
}

func (s *stack) run(t testing.TB) dispatch.Summary {
	t.Helper()
	sum, err := s.disp.Run(context.Background(), domain.CauseUser("test"))
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

type fetched struct {
	raw []byte
	msg *pec.Message
}

// inbox reads a mailbox's INBOX over IMAP and parses every message.
func (s *stack) inbox(t testing.TB, addr string) []fetched {
	t.Helper()
	c, err := imapclient.DialTLS(s.world.IMAPAddr, &imapclient.Options{TLSConfig: s.world.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(addr, s.world.Password(addr)).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	uids := sd.AllUIDs()
	if len(uids) == 0 {
		return nil
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(bufs, func(i, j int) bool { return bufs[i].UID < bufs[j].UID })
	trust, _ := pec.ParseTrustStore(s.world.CAPEM)
	var out []fetched
	for _, b := range bufs {
		raw := b.FindBodySection(sec)
		m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: trust})
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind.IsPEC() && m.Signature.Status != pec.SignatureValid {
			t.Fatalf("%s: signature %s", m.Kind, m.Signature.Status)
		}
		out = append(out, fetched{raw: raw, msg: m})
	}
	return out
}

func ofKind(fs []fetched, k pec.Kind) []fetched {
	var out []fetched
	for _, f := range fs {
		if f.msg.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiptsFor returns the receipts in the Comune's inbox quoting msgID, by kind.
func (s *stack) receiptsFor(t testing.TB, msgID string) map[pec.Kind]int {
	out := map[pec.Kind]int{}
	for _, f := range s.inbox(t, sim.ComunePrato) {
		if f.msg.Kind.IsReceipt() && f.msg.RefMessageID == msgID {
			out[f.msg.Kind]++
		}
	}
	return out
}

// requests returns the requests the Procura received, by Message-ID of the original.
func (s *stack) requests(t testing.TB) map[string]int {
	out := map[string]int{}
	for _, f := range ofKind(s.inbox(t, sim.Procura), pec.KindPostaCertificata) {
		out[f.msg.RefMessageID]++
	}
	return out
}

func (s *stack) batches(t testing.TB, office string) []domain.Batch {
	t.Helper()
	bs, err := s.store.ListBatches(context.Background(), prato, office, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func summary(s dispatch.Summary) string { return fmt.Sprintf("%+v", s) }

func eventBridge(id string) events.EventBridgeEvent {
	return events.EventBridgeEvent{ID: id, DetailType: "Scheduled Event", Source: "aws.events"}
}
