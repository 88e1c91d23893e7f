//go:build unix

package pecmail

// The IMAP adapter against Debian's Dovecot (shared/localdev/dovecot): a
// server it was not written with, with and without MOVE and UIDPLUS.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/dovecot"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/mailbox"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// dove is a Dovecot with PEC mail signed by a provider's test CA.
type dove struct {
	srv    *dovecot.Server
	im     *IMAP
	signer *pec.Signer
	other  *pec.Signer // a provider nobody trusts
	mu     sync.Mutex
	users  int
}

func newDove(t *testing.T, without ...string) *dove {
	t.Helper()
	needs.Server(t, needs.Dovecot)
	srv, err := dovecot.Start(context.Background(), dovecot.Options{Without: without})
	if err != nil {
		t.Fatalf("Dovecot does not start (it is part of the tests: `make packages` installs it): %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Dovecot's log:\n%s", tail(srv.Log()))
		}
		srv.Stop()
	})
	ca, err := pki.New("Gestore di prova", false)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := pki.New("Gestore sconosciuto", false)
	if err != nil {
		t.Fatal(err)
	}
	d := &dove{srv: srv, im: &IMAP{Secrets: LocalSecrets(), TLS: srv.CA.ClientTLS(), TrustStore: ca.Pool(), Timeout: 10 * time.Second}}
	if d.signer, err = ca.Signer("Gestore di prova", "posta-certificata@gestore.test"); err != nil {
		t.Fatal(err)
	}
	if d.other, err = stranger.Signer("Gestore sconosciuto", "posta-certificata@altro.test"); err != nil {
		t.Fatal(err)
	}
	return d
}

// tail is the end of a log.
func tail(log string) string {
	lines := strings.Split(log, "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// tenant is the demo's first Comune with a mailbox of its own on the server.
func (d *dove) tenant(t *testing.T, mode string) tenants.Tenant {
	t.Helper()
	d.mu.Lock()
	d.users++
	n := d.users
	d.mu.Unlock()
	tn := tenants.Demo().Tenants[0]
	tn.PEC.Username = fmt.Sprintf("comune%d@pec.comune.prato.test", n)
	tn.PEC.IMAP = d.srv.Addr
	tn.PEC.Auth = tenants.Secret{Password: "segreta"}
	tn.PEC.Mode = mode
	if err := d.srv.AddUser(tn.PEC.Username, "segreta"); err != nil {
		t.Fatal(err)
	}
	return tn
}

func (d *dove) deliver(t *testing.T, tn tenants.Tenant, folder string, raw []byte) uint32 {
	t.Helper()
	uid, err := d.srv.Deliver(context.Background(), tn.PEC.Username, folder, raw)
	if err != nil {
		t.Fatal(err)
	}
	return uid
}

func (d *dove) receipt(t *testing.T, tn tenants.Tenant, k pec.Kind, ref string, s *pec.Signer) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := pec.WriteReceipt(&out, pec.ReceiptSpec{Kind: k, RefMessageID: ref, Sender: tn.PEC.Address,
		Recipients: []pec.Recipient{{Address: tn.Procura, Type: pec.RecipientCertificato}}, Subject: "Richiesta certificati",
		Delivery: tn.Procura, Domain: "gestore.test", Time: time.Now()}, s); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func plain(t *testing.T, from, subject string, extra string) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := compose.Write(&b, compose.Mail{From: from, To: []string{"protocollo@pec.comune.prato.test"}, Subject: subject, Text: "testo\r\n"}); err != nil {
		t.Fatal(err)
	}
	return append([]byte(extra), b.Bytes()...)
}

func (d *dove) look(t *testing.T, tn tenants.Tenant, folder string) dovecot.Folder {
	t.Helper()
	f, err := d.srv.Look(context.Background(), tn.PEC.Username, folder)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (d *dove) body(t *testing.T, tn tenants.Tenant, folder string, uid uint32) []byte {
	t.Helper()
	b, err := d.srv.Body(context.Background(), tn.PEC.Username, folder, uid)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (d *dove) commands(t *testing.T, tn tenants.Tenant) []string {
	t.Helper()
	c, err := d.srv.Commands(tn.PEC.Username)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verbs are the commands' names (with UID), say "UID FETCH".
func verbs(cmds []string) []string {
	var out []string
	for _, c := range cmds {
		f := strings.Fields(c)
		v := strings.ToUpper(f[0])
		if v == "UID" && len(f) > 1 {
			v += " " + strings.ToUpper(f[1])
		}
		out = append(out, v)
	}
	return out
}

// A message moved, by MOVE or by COPY + \Deleted + UID EXPUNGE of that UID
// alone: another message that another client flagged \Deleted stays, and
// nothing is ever expunged unscoped.
func TestDovecotMove(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		without []string
		gone    bool     // the moved messages left the INBOX
		want    []string // commands sent
		never   []string
	}{
		{"MOVE", nil, true, []string{"UID MOVE"}, []string{"UID COPY", "EXPUNGE", "UID EXPUNGE", "CLOSE"}},
		{"without MOVE: COPY and UID EXPUNGE", []string{"MOVE"}, true, []string{"UID COPY", "UID STORE", "UID EXPUNGE"}, []string{"UID MOVE", "EXPUNGE", "CLOSE"}},
		{"without MOVE and UIDPLUS: COPY, flagged \\Deleted", []string{"MOVE", "UIDPLUS"}, false, []string{"UID COPY", "UID STORE"},
			[]string{"UID MOVE", "EXPUNGE", "UID EXPUNGE", "CLOSE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := newDove(t, tc.without...)
			tn := d.tenant(t, tenants.MailboxDedicated)
			ours := d.deliver(t, tn, "INBOX", plain(t, "procura@pec.test", "Certificati", ""))
			theirs := d.deliver(t, tn, "INBOX", plain(t, "cittadino@pec.test", "Istanza", ""))
			triaged := d.deliver(t, tn, "INBOX", plain(t, "altro@pec.test", "Altro", ""))
			// The protocol office marked a message for deletion, and has not
			// expunged it yet.
			if err := d.srv.Flag(ctx, tn.PEC.Username, "INBOX", theirs, `\Deleted`); err != nil {
				t.Fatal(err)
			}
			delivered, err := d.srv.Bodies(ctx, tn.PEC.Username, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			want := [][]byte{delivered[ours], delivered[triaged]}
			mb, err := d.im.Dial(ctx, &tn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mb.Open(ctx, "INBOX", false); err != nil {
				t.Fatal(err)
			}
			if err := mb.Move(ctx, ours, tn.PEC.ArchiveFolder()); err != nil { // creates the folder
				t.Fatal(err)
			}
			if err := mb.Flag(ctx, triaged, mailbox.FlagFlagged); err != nil {
				t.Fatal(err)
			}
			if err := mb.Move(ctx, triaged, tn.PEC.ArchiveFolder()); err != nil {
				t.Fatal(err)
			}
			if err := mb.Close(); err != nil {
				t.Fatal(err)
			}
			inbox := d.look(t, tn, "INBOX")
			if !inbox.Has(theirs) || !slices.Equal(inbox.Flags(theirs), []string{`\Deleted`}) {
				t.Fatalf("the message another client flagged \\Deleted: %+v", inbox)
			}
			for _, uid := range []uint32{ours, triaged} {
				if tc.gone == inbox.Has(uid) {
					t.Errorf("UID %d in the INBOX: %v, want %v", uid, inbox.Has(uid), !tc.gone)
				}
				if !tc.gone && !slices.Contains(inbox.Flags(uid), `\Deleted`) {
					t.Errorf("UID %d left without \\Deleted: %v", uid, inbox.Flags(uid))
				}
			}
			arch := d.look(t, tn, tn.PEC.ArchiveFolder())
			if len(arch.Messages) != 2 {
				t.Fatalf("archive %+v", arch)
			}
			archived, err := d.srv.Bodies(ctx, tn.PEC.Username, tn.PEC.ArchiveFolder())
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range arch.Messages {
				if !bytes.Equal(archived[m.UID], want[i]) {
					t.Errorf("archived message %d differs from the original", i)
				}
				if slices.Contains(m.Flags, `\Deleted`) || slices.Contains(m.Flags, `\Seen`) {
					t.Errorf("archived message %d has flags %v", i, m.Flags)
				}
			}
			if !slices.Contains(arch.Messages[1].Flags, `\Flagged`) {
				t.Errorf("the triaged message lost \\Flagged: %v", arch.Messages[1].Flags)
			}
			sent := verbs(d.commands(t, tn))
			for _, v := range tc.want {
				if !slices.Contains(sent, v) {
					t.Errorf("%s not sent: %v", v, sent)
				}
			}
			for _, v := range tc.never {
				if slices.Contains(sent, v) {
					t.Errorf("%s sent: %v", v, sent)
				}
			}
		})
	}
}

// A folder opened read-only refuses flags and moves before asking the
// server; a folder that is not there is a refusal, the session goes on.
func TestDovecotReadOnlySession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDove(t)
	tn := d.tenant(t, tenants.MailboxShared)
	uid := d.deliver(t, tn, "INBOX", plain(t, "cittadino@pec.test", "Istanza", ""))
	mb, err := d.im.Dial(ctx, &tn)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	if _, err := mb.Open(ctx, "Nessuna", true); !mailbox.Refused(err) {
		t.Fatalf("opening a folder that is not there: %v, want a refusal", err)
	}
	st, err := mb.Open(ctx, "INBOX", true)
	if err != nil || st.Messages != 1 || st.UIDNext != uid+1 || st.UIDValidity == 0 {
		t.Fatalf("status %+v %v", st, err)
	}
	for name, err := range map[string]error{
		"flag": mb.Flag(ctx, uid, mailbox.FlagFlagged),
		"move": mb.Move(ctx, uid, "Archivio"),
	} {
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s on a read-only folder: %v", name, err)
		}
	}
	if f := d.look(t, tn, "INBOX"); !slices.Equal(f.Flags(uid), []string{`\Recent`}) {
		t.Errorf("flags %v", f.Flags(uid))
	}
	for _, v := range verbs(d.commands(t, tn)) {
		if v != "EXAMINE" && v != "LOGOUT" {
			t.Errorf("%s sent to a read-only folder", v)
		}
	}
}

// Another client expunges a message this session listed: Dovecot answers
// its FETCH with a NIL body or header (then EXPUNGE and OK [EXPUNGEISSUED]);
// the adapter calls it gone instead of failing.
func TestDovecotExpungedMeanwhile(t *testing.T) {
	t.Parallel()
	d := newDove(t)
	for _, tc := range []struct {
		name         string
		beforeHeader bool // expunged between the search and the headers, else between the headers and the fetch
	}{
		{"between UID SEARCH and the headers", true},
		{"between the headers and the fetch", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tn := d.tenant(t, tenants.MailboxShared)
			first := d.deliver(t, tn, "INBOX", plain(t, "a@pec.test", "uno", ""))
			second := d.deliver(t, tn, "INBOX", plain(t, "b@pec.test", "due", ""))
			want := d.body(t, tn, "INBOX", second)
			mb, err := d.im.Dial(ctx, &tn)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			if _, err := mb.Open(ctx, "INBOX", true); err != nil {
				t.Fatal(err)
			}
			uids, err := mb.UIDsAfter(ctx, 0)
			if err != nil || !slices.Equal(uids, []uint32{first, second}) {
				t.Fatalf("UIDs %v %v", uids, err)
			}
			expunge := func() {
				if err := d.srv.Expunge(ctx, tn.PEC.Username, "INBOX", first); err != nil {
					t.Fatal(err)
				}
			}
			if tc.beforeHeader {
				expunge()
			}
			sums, err := mb.Summaries(ctx, uids)
			if err != nil {
				t.Fatal(err)
			}
			wantSums := []uint32{first, second}
			if tc.beforeHeader {
				wantSums = []uint32{second}
			} else {
				expunge()
			}
			var got []uint32
			for _, s := range sums {
				got = append(got, s.UID)
				if len(s.Header) == 0 || s.Size == 0 {
					t.Errorf("summary %d: %d header bytes, size %d", s.UID, len(s.Header), s.Size)
				}
			}
			if !slices.Equal(got, wantSums) {
				t.Fatalf("summaries of %v, want %v", got, wantSums)
			}
			for range 2 { // the second time the session already knows
				called := false
				err = mb.Fetch(ctx, first, func(io.Reader) error { called = true; return nil })
				if !errors.Is(err, mailbox.ErrGone) || called {
					t.Fatalf("fetching the expunged message: %v (read: %v), want ErrGone", err, called)
				}
			}
			var b bytes.Buffer
			if err := mb.Fetch(ctx, second, func(r io.Reader) error { _, err := io.Copy(&b, r); return err }); err != nil || !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("the message behind it: %v", err)
			}
			if err := mb.Fetch(ctx, 99, func(io.Reader) error { return nil }); !errors.Is(err, mailbox.ErrGone) {
				t.Fatalf("a UID never there: %v", err)
			}
		})
	}
}

// Dispatch's "was it sent?": the receipts in the INBOX (and the archive of a
// dedicated mailbox), read without changing anything.
func TestDovecotReceipt(t *testing.T) {
	t.Parallel()
	const id = "<casellario.richiesta-1@pec.comune.prato.test>"
	d := newDove(t)
	for _, tc := range []struct {
		name    string
		mode    string
		folders []string // created before
		deliver func(t *testing.T, tn tenants.Tenant) map[string][][]byte
		want    pec.Kind
	}{
		{"acceptance", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {plain(t, "x@pec.test", "altro", ""), d.receipt(t, tn, pec.KindAccettazione, id, d.signer)}}
		}, pec.KindAccettazione},
		{"a delivery receipt implies acceptance", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {d.receipt(t, tn, pec.KindAvvenutaConsegna, id, d.signer)}}
		}, pec.KindAccettazione},
		{"refused", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {d.receipt(t, tn, pec.KindNonAccettazione, id, d.signer)}}
		}, pec.KindNonAccettazione},
		{"refused, then accepted", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {d.receipt(t, tn, pec.KindNonAccettazione, id, d.signer), d.receipt(t, tn, pec.KindAccettazione, id, d.signer)}}
		}, pec.KindAccettazione},
		{"another message's receipt", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {d.receipt(t, tn, pec.KindAccettazione, "<altra@pec.comune.prato.test>", d.signer)}}
		}, ""},
		{"a plain message claiming to refer to it", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {plain(t, "x@pec.test", "ACCETTAZIONE: Richiesta", "X-Riferimento-Message-ID: "+id+"\r\nX-Ricevuta: accettazione\r\n")}}
		}, ""},
		{"signed by an untrusted provider", tenants.MailboxShared, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {d.receipt(t, tn, pec.KindAccettazione, id, d.other)}}
		}, ""},
		{"dedicated: moved to the archive", tenants.MailboxDedicated, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {plain(t, "x@pec.test", "altro", "")}, tenants.DefaultFolder: {d.receipt(t, tn, pec.KindAccettazione, id, d.signer)}}
		}, pec.KindAccettazione},
		{"dedicated, no archive yet", tenants.MailboxDedicated, nil, func(t *testing.T, tn tenants.Tenant) map[string][][]byte {
			return map[string][][]byte{"INBOX": {plain(t, "x@pec.test", "altro", "")}}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tn := d.tenant(t, tc.mode)
			before := map[string]dovecot.Folder{}
			for folder, raws := range tc.deliver(t, tn) {
				for _, raw := range raws {
					d.deliver(t, tn, folder, raw)
				}
				before[folder] = d.look(t, tn, folder)
			}
			got, err := d.im.Receipt(ctx, tn, id)
			if err != nil || got != tc.want {
				t.Fatalf("Receipt: %q %v, want %q", got, err, tc.want)
			}
			for folder, f := range before {
				if after := d.look(t, tn, folder); fmt.Sprint(after) != fmt.Sprint(f) {
					t.Errorf("%s changed:\n%+v\nwas\n%+v", folder, after, f)
				}
			}
			for _, v := range verbs(d.commands(t, tn)) {
				if !slices.Contains([]string{"EXAMINE", "UID SEARCH", "UID FETCH", "LOGOUT"}, v) {
					t.Errorf("Receipt sent %s", v)
				}
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		ctx := context.Background()
		tn := d.tenant(t, tenants.MailboxShared)
		wrong := tn
		wrong.PEC.Auth = tenants.Secret{Password: "sbagliata"}
		closed := tn
		closed.PEC.IMAP = "127.0.0.1:1"
		for name, tc := range map[string]struct {
			tn   tenants.Tenant
			id   string
			want string
		}{
			"a wrong password":       {wrong, id, "AUTHENTICATIONFAILED"},
			"nobody listening":       {closed, id, "connection refused"},
			"an empty Message-ID":    {tn, " <> ", "empty Message-ID"},
			"an unresolvable secret": {func() tenants.Tenant { x := tn; x.PEC.Auth = tenants.Secret{Secret: "x"}; return x }(), id, "Secrets Manager"},
		} {
			if _, err := d.im.Receipt(ctx, tc.tn, tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", name, err, tc.want)
			}
		}
	})
}

// expungeFirst expunges uid through another client just before this
// session fetches it.
type expungeFirst struct {
	mailbox.Mailbox
	uid     uint32
	expunge func() error
}

func (e *expungeFirst) Fetch(ctx context.Context, uid uint32, fn func(io.Reader) error) error {
	if uid == e.uid && e.expunge != nil {
		if err := e.expunge(); err != nil {
			return err
		}
		e.expunge = nil
	}
	return e.Mailbox.Fetch(ctx, uid, fn)
}

// A receipt expunged by another client between the search and the fetch is
// not there, not an error; the next receipt still counts.
func TestDovecotReceiptExpungedMeanwhile(t *testing.T) {
	t.Parallel()
	const id = "<casellario.richiesta-2@pec.comune.prato.test>"
	d := newDove(t)
	for _, tc := range []struct {
		name     string
		receipts []pec.Kind
		want     pec.Kind
	}{
		{"the only receipt", []pec.Kind{pec.KindAccettazione}, ""},
		{"the first of two", []pec.Kind{pec.KindAccettazione, pec.KindAvvenutaConsegna}, pec.KindAccettazione},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			tn := d.tenant(t, tenants.MailboxShared)
			var uids []uint32
			for _, k := range tc.receipts {
				uids = append(uids, d.deliver(t, tn, "INBOX", d.receipt(t, tn, k, id, d.signer)))
			}
			mb, err := d.im.Dial(ctx, &tn)
			if err != nil {
				t.Fatal(err)
			}
			defer mb.Close()
			if _, err := mb.Open(ctx, "INBOX", true); err != nil {
				t.Fatal(err)
			}
			w := &expungeFirst{Mailbox: mb, uid: uids[0], expunge: func() error {
				return d.srv.Expunge(ctx, tn.PEC.Username, "INBOX", uids[0])
			}}
			got, err := d.im.search(ctx, w, id)
			if err != nil || got != tc.want || w.expunge != nil {
				t.Fatalf("search: %q %v, want %q", got, err, tc.want)
			}
		})
	}
}
