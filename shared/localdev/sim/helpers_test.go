package sim_test

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/localdev/sim/simtest"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// world starts a simulator on a fake clock with the journal on; mod changes
// the configuration first.
func world(t *testing.T, mod func(*sim.Config)) (*sim.World, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(t0)
	cfg := sim.Default()
	cfg.Clock = fc
	cfg.Journal = true
	cfg.Procura.Poll = clock.Duration(20 * time.Millisecond)
	cfg.Procura.Delay = clock.Duration(6 * time.Hour)
	cfg.Dir = t.TempDir()
	if mod != nil {
		mod(&cfg)
	}
	w := simtest.Start(t, cfg)
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		checkJournal(t, w)
	})
	return w, fc
}

// checkJournal reads back every message the provider wrote: the expected kind
// and a valid signature against the exported CA.
func checkJournal(t *testing.T, w *sim.World) {
	t.Helper()
	trust, err := pec.ParseTrustStore(w.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, wr := range w.Provider.Written() {
		m, err := pec.Parse(wr.Raw, pec.ReadOptions{TrustStore: trust})
		if err != nil {
			t.Fatalf("journal: %v", err)
		}
		if m.Kind != wr.Kind || m.Signature.Status != pec.SignatureValid {
			t.Errorf("journal: kind %s (want %s), signature %s %s, problems %v", m.Kind, wr.Kind, m.Signature.Status, m.Signature.Reason, m.Problems)
		}
	}
}

type sendOpt struct {
	auth     gomail.SMTPAuthType
	user     string // authenticates as, default the From
	password string
	envFrom  string
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// send submits msg through the simulator's SMTP with go-mail.
func send(t *testing.T, w *sim.World, from string, msg *gomail.Msg, o sendOpt) error {
	t.Helper()
	if o.auth == "" {
		o.auth = gomail.SMTPAuthPlain
	}
	if o.user == "" {
		o.user = from
	}
	if o.password == "" {
		o.password = w.Password(o.user)
	}
	if o.envFrom != "" {
		if err := msg.EnvelopeFrom(o.envFrom); err != nil {
			t.Fatal(err)
		}
	}
	h, p := hostPort(t, w.SMTPAddr)
	c, err := gomail.NewClient(h, gomail.WithPort(p), gomail.WithSSL(), gomail.WithTLSConfig(w.CA.ClientTLS()),
		gomail.WithSMTPAuth(o.auth), gomail.WithUsername(o.user), gomail.WithPassword(o.password), gomail.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c.DialAndSend(msg)
}

// newMail composes a message with shared/pec/compose.
func newMail(t *testing.T, m compose.Mail, headers map[string]string) (*gomail.Msg, string) {
	t.Helper()
	if m.Text == "" {
		m.Text = "Testo di prova.\r\n"
	}
	c, err := compose.New(m)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		c.Msg.SetGenHeader(gomail.Header(k), v)
	}
	return c.Msg, c.MessageID
}

func dial(t *testing.T, w *sim.World, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(w.IMAPAddr, &imapclient.Options{TLSConfig: w.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(addr, w.Password(addr)).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type fetched struct {
	uid   imap.UID
	flags []imap.Flag
	raw   []byte
	msg   *pec.Message
}

// fetchAll reads a folder with a new IMAP connection, parses every message
// and checks that each PEC message is validly signed.
func fetchAll(t *testing.T, w *sim.World, addr, folder string) []fetched {
	t.Helper()
	c, err := imapclient.DialTLS(w.IMAPAddr, &imapclient.Options{TLSConfig: w.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(addr, w.Password(addr)).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
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
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := pec.ParseTrustStore(w.CAPEM)
	var out []fetched
	for _, b := range bufs {
		raw := b.FindBodySection(section)
		m, err := pec.Parse(raw, pec.ReadOptions{TrustStore: trust})
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind.IsPEC() && m.Signature.Status != pec.SignatureValid {
			t.Fatalf("%s: signature %s: %s", m.Kind, m.Signature.Status, m.Signature.Reason)
		}
		out = append(out, fetched{uid: b.UID, flags: b.Flags, raw: raw, msg: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

func kinds(fs []fetched) map[pec.Kind]int {
	k := map[pec.Kind]int{}
	for _, f := range fs {
		k[f.msg.Kind]++
	}
	return k
}

func kindList(fs []fetched) string {
	var s []string
	for _, f := range fs {
		s = append(s, string(f.msg.Kind))
	}
	return strings.Join(s, ",")
}

// waitKinds waits until the folder holds exactly want (by kind).
func waitKinds(t *testing.T, w *sim.World, addr string, want map[pec.Kind]int) []fetched {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fs := fetchAll(t, w, addr, "INBOX")
		got := kinds(fs)
		if equalKinds(got, want) {
			return fs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s INBOX: %v, want %v", addr, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equalKinds(a, b map[pec.Kind]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

func find(fs []fetched, k pec.Kind) []fetched {
	var out []fetched
	for _, f := range fs {
		if f.msg.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
