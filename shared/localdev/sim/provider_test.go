package sim_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	gomail "github.com/wneessen/go-mail"

	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
)

func noProcura(c *sim.Config) { c.Procura.Disabled = true }

// TestSubmission covers every receipt of a submission.
func TestSubmission(t *testing.T) {
	type rcptCheck struct {
		kind    pec.Kind
		rtype   pec.ReceiptType
		errCode string
		orig    bool // postacert.eml attached
	}
	tests := []struct {
		name    string
		to      []string
		headers map[string]string
		attach  []compose.Attachment
		maxSize int64
		opt     sendOpt
		sender  map[pec.Kind]int // the sender's INBOX
		procura int              // envelopes in the Procura's INBOX
		check   []rcptCheck      // receipts other than accettazione, in order
	}{
		{name: "completa", to: []string{sim.Procura},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1}, procura: 1,
			check: []rcptCheck{{pec.KindAvvenutaConsegna, pec.ReceiptCompleta, pec.ErrorNone, true}}},
		{name: "breve", to: []string{sim.Procura}, headers: map[string]string{"X-TipoRicevuta": "breve"},
			attach: []compose.Attachment{{Name: "a.txt", Data: []byte("allegato")}},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1}, procura: 1,
			check: []rcptCheck{{pec.KindAvvenutaConsegna, pec.ReceiptBreve, pec.ErrorNone, true}}},
		{name: "sintetica, login", to: []string{sim.Procura}, headers: map[string]string{"X-Tiporicevuta": "sintetica"},
			opt:    sendOpt{auth: gomail.SMTPAuthLogin},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1}, procura: 1,
			check: []rcptCheck{{pec.KindAvvenutaConsegna, pec.ReceiptSintetica, pec.ErrorNone, false}}},
		{name: "two recipients", to: []string{sim.Procura, sim.ComuneVaiano},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 2}, procura: 1},
		{name: "unknown mailbox", to: []string{"nessuno@pec.procura.prato.test"},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindErroreConsegna: 1},
			check:  []rcptCheck{{kind: pec.KindErroreConsegna, errCode: pec.ErrorNoDest}}},
		{name: "outside the domains", to: []string{"ufficio@example.com"},
			sender: map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindErroreConsegna: 1},
			check:  []rcptCheck{{kind: pec.KindErroreConsegna, errCode: pec.ErrorNoDominio}}},
		{name: "From is not the mailbox", to: []string{sim.Procura}, headers: map[string]string{"From": "<altro@pec.comune.prato.test>"},
			sender: map[pec.Kind]int{pec.KindNonAccettazione: 1},
			check:  []rcptCheck{{kind: pec.KindNonAccettazione, errCode: pec.ErrorAltro}}},
		{name: "over the size limit", to: []string{sim.Procura}, maxSize: 4 << 10,
			attach: []compose.Attachment{{Name: "big.bin", Data: bytes.Repeat([]byte("x"), 8<<10)}},
			sender: map[pec.Kind]int{pec.KindNonAccettazione: 1},
			check:  []rcptCheck{{kind: pec.KindNonAccettazione, errCode: pec.ErrorAltro}}},
		{name: "virus", to: []string{sim.Procura},
			attach: []compose.Attachment{{Name: "eicar.com", Data: []byte(provider.EICAR)}},
			sender: map[pec.Kind]int{pec.KindNonAccettazione: 1},
			check:  []rcptCheck{{kind: pec.KindNonAccettazione, errCode: pec.ErrorVirus}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := world(t, func(c *sim.Config) { noProcura(c); c.MaxSize = tc.maxSize })
			msg, id := newMail(t, compose.Mail{From: sim.ComunePrato, To: tc.to, Subject: "Prova " + tc.name, Attachments: tc.attach}, tc.headers)
			if err := send(t, w, sim.ComunePrato, msg, tc.opt); err != nil {
				t.Fatal(err)
			}
			got := waitKinds(t, w, sim.ComunePrato, tc.sender)
			for _, f := range got {
				m := f.msg
				if m.RefMessageID != id || m.Subject != "Prova "+tc.name || m.Sender != sim.ComunePrato {
					t.Errorf("%s: ref %s subject %q sender %s", m.Kind, m.RefMessageID, m.Subject, m.Sender)
				}
				if m.PECID != got[0].msg.PECID {
					t.Errorf("receipts of one message with different identificativo")
				}
			}
			for _, c := range tc.check {
				fs := find(got, c.kind)
				if len(fs) != 1 {
					t.Fatalf("%d %s", len(fs), c.kind)
				}
				m := fs[0].msg
				if c.rtype != "" && m.ReceiptType != c.rtype {
					t.Errorf("receipt type %s, want %s", m.ReceiptType, c.rtype)
				}
				if m.Error != c.errCode {
					t.Errorf("errore %s, want %s", m.Error, c.errCode)
				}
				if (m.Original != nil) != c.orig {
					t.Errorf("original attached: %v, want %v", m.Original != nil, c.orig)
				}
				if c.kind == pec.KindAvvenutaConsegna && m.DeliveredTo != sim.Procura {
					t.Errorf("consegna %q", m.DeliveredTo)
				}
				if c.errCode == pec.ErrorVirus && !m.SecurityWarning {
					t.Errorf("virus notice without X-VerificaSicurezza")
				}
			}
			env := fetchAll(t, w, sim.Procura, "INBOX")
			if len(env) != tc.procura {
				t.Fatalf("Procura INBOX: %s", kindList(env))
			}
			for _, e := range env {
				if e.msg.Kind != pec.KindPostaCertificata || e.msg.RefMessageID != id || e.msg.PECID != got[0].msg.PECID ||
					e.msg.Original == nil || e.msg.Original.MessageID != id {
					t.Errorf("envelope: %+v", e.msg.View())
				}
			}
		})
	}
}

// TestSMTPRefusals covers the errors at the SMTP level.
func TestSMTPRefusals(t *testing.T) {
	w, _ := world(t, noProcura)
	tests := []struct {
		name string
		opt  sendOpt
		want string
	}{
		{"wrong password", sendOpt{password: "sbagliata"}, "535"},
		{"unknown mailbox", sendOpt{user: "nessuno@pec.comune.prato.test", password: "x"}, "535"},
		{"MAIL FROM not the mailbox", sendOpt{envFrom: sim.ComuneVaiano}, "553"},
		{"login, wrong password", sendOpt{auth: gomail.SMTPAuthLogin, password: "sbagliata"}, "535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, _ := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: "x"}, nil)
			err := send(t, w, sim.ComunePrato, msg, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
	// Without a Message-ID, the submission is refused (receipts quote it).
	msg := gomail.NewMsg()
	_ = msg.From(sim.ComunePrato)
	_ = msg.To(sim.Procura)
	msg.Subject("senza id")
	msg.SetBodyString(gomail.TypeTextPlain, "x")
	msg.SetGenHeader(gomail.HeaderMessageID, "")
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err == nil || !strings.Contains(err.Error(), "554") {
		t.Fatalf("no Message-ID: %v", err)
	}
	if fs := fetchAll(t, w, sim.ComunePrato, "INBOX"); len(fs) != 0 {
		t.Fatalf("refused submissions produced %s", kindList(fs))
	}
}

// TestAnomalia covers ordinary mail reaching a PEC mailbox.
func TestAnomalia(t *testing.T) {
	w, _ := world(t, func(c *sim.Config) { noProcura(c); c.Inbound = "127.0.0.1:0" })
	if w.InboundAddr == "" || w.Ready().Inbound == "" {
		t.Fatal("no inbound port")
	}
	msg := gomail.NewMsg()
	_ = msg.From("qualcuno@example.com")
	_ = msg.To(sim.Procura)
	msg.Subject("posta ordinaria")
	msg.SetBodyString(gomail.TypeTextPlain, "ciao")
	h, p := hostPort(t, w.InboundAddr)
	c, err := gomail.NewClient(h, gomail.WithPort(p), gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DialAndSend(msg); err != nil {
		t.Fatal(err)
	}
	fs := waitKinds(t, w, sim.Procura, map[pec.Kind]int{pec.KindAnomalia: 1})
	if fs[0].msg.Original == nil || fs[0].msg.Original.Subject != "posta ordinaria" || fs[0].msg.Sender != "qualcuno@example.com" {
		t.Fatalf("anomalia: %+v", fs[0].msg.View())
	}
	// An unknown mailbox is refused on the inbound port.
	msg2 := gomail.NewMsg()
	_ = msg2.From("qualcuno@example.com")
	_ = msg2.To("nessuno@pec.procura.prato.test")
	msg2.SetBodyString(gomail.TypeTextPlain, "x")
	if err := c.DialAndSend(msg2); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("unknown mailbox: %v", err)
	}
	// InjectOrdinary does the same without SMTP.
	raw := []byte("From: a@example.com\r\nTo: " + sim.ComuneVaiano + "\r\nSubject: iniettato\r\nMessage-ID: <x@example.com>\r\n\r\ntesto\r\n")
	if err := w.Provider.InjectOrdinary(raw, sim.ComuneVaiano); err != nil {
		t.Fatal(err)
	}
	waitKinds(t, w, sim.ComuneVaiano, map[pec.Kind]int{pec.KindAnomalia: 1})
	if err := w.Provider.InjectOrdinary(raw, "nessuno@pec.procura.prato.test"); err == nil {
		t.Fatal("inject to an unknown mailbox")
	}
	if err := w.Provider.InjectOrdinary([]byte("%PDF"), sim.ComuneVaiano); err == nil {
		t.Fatal("inject of a non-message")
	}
}

func submit(t *testing.T, w *sim.World, to ...string) string {
	t.Helper()
	msg, id := newMail(t, compose.Mail{From: sim.ComunePrato, To: to, Subject: "Prova"}, nil)
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFaultReceiptDelay(t *testing.T) {
	w, fc := world(t, func(c *sim.Config) { noProcura(c); c.Faults.ReceiptDelay = 3600e9 })
	submit(t, w, sim.Procura)
	waitKinds(t, w, sim.Procura, map[pec.Kind]int{pec.KindPostaCertificata: 1})
	if fs := fetchAll(t, w, sim.ComunePrato, "INBOX"); len(fs) != 0 {
		t.Fatalf("receipts before the delay: %s", kindList(fs))
	}
	fc.Advance(59 * time.Minute)
	if fs := fetchAll(t, w, sim.ComunePrato, "INBOX"); len(fs) != 0 {
		t.Fatalf("receipts before the delay: %s", kindList(fs))
	}
	fc.Advance(time.Minute)
	fs := waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1})
	if !fs[0].msg.Time.Equal(t0.Add(time.Hour)) {
		t.Errorf("receipt time %v, want %v", fs[0].msg.Time, t0.Add(time.Hour))
	}
}

func TestFaultDropDeliveryReceipt(t *testing.T) {
	for _, hold := range []bool{false, true} {
		t.Run(map[bool]string{false: "delivered", true: "held"}[hold], func(t *testing.T) {
			w, fc := world(t, func(c *sim.Config) {
				noProcura(c)
				c.Faults.DropDeliveryReceipt, c.Faults.HoldEnvelope = true, hold
			})
			id := submit(t, w, sim.Procura)
			waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1})
			fc.Advance(12*time.Hour - time.Second)
			waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1})
			fc.Advance(time.Second)
			waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindPreavvisoErroreConsegna: 1})
			fc.Advance(12 * time.Hour)
			fs := waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindPreavvisoErroreConsegna: 1, pec.KindErroreConsegna: 1})
			for _, f := range fs {
				if f.msg.RefMessageID != id {
					t.Errorf("%s ref %s", f.msg.Kind, f.msg.RefMessageID)
				}
			}
			if e := find(fs, pec.KindErroreConsegna)[0].msg; e.DeliveredTo != sim.Procura || !e.Time.Equal(t0.Add(24*time.Hour)) {
				t.Errorf("errore-consegna: consegna %q time %v", e.DeliveredTo, e.Time)
			}
			want := 1
			if hold {
				want = 0
			}
			if n := len(fetchAll(t, w, sim.Procura, "INBOX")); n != want {
				t.Errorf("Procura INBOX: %d envelopes, want %d", n, want)
			}
		})
	}
}

func TestFaultRefuseSMTP(t *testing.T) {
	w, _ := world(t, func(c *sim.Config) { noProcura(c); c.Faults.RefuseSMTP = true })
	msg, _ := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura}, Subject: "x"}, nil)
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err == nil {
		t.Fatal("sent while connections are refused")
	}
	f := w.Provider.Faults()
	f.RefuseSMTP = false
	w.Provider.SetFaults(f)
	submit(t, w, sim.Procura)
	waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1})
}

func TestFaultDeliverTwice(t *testing.T) {
	w, _ := world(t, func(c *sim.Config) { noProcura(c); c.Faults.DeliverTwice = true })
	submit(t, w, sim.Procura)
	fs := waitKinds(t, w, sim.Procura, map[pec.Kind]int{pec.KindPostaCertificata: 2})
	if fs[0].msg.MessageID != fs[1].msg.MessageID || fs[0].uid == fs[1].uid {
		t.Fatalf("copies: %s/%d %s/%d", fs[0].msg.MessageID, fs[0].uid, fs[1].msg.MessageID, fs[1].uid)
	}
	waitKinds(t, w, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1})
}

func TestFaultCutFetch(t *testing.T) {
	w, _ := world(t, noProcura)
	submit(t, w, sim.Procura)
	submit(t, w, sim.Procura)
	fs := waitKinds(t, w, sim.Procura, map[pec.Kind]int{pec.KindPostaCertificata: 2})
	target := fs[1].msg.MessageID
	w.Provider.SetFaults(provider.Faults{CutFetch: &provider.CutFetch{Mailbox: sim.Procura, MessageID: target}})

	c := dial(t, w, sim.Procura)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	opts := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}
	// Fetching the other message is not cut.
	if _, err := c.Fetch(imap.UIDSetNum(fs[0].uid), opts).Collect(); err != nil {
		t.Fatalf("fetch of another message: %v", err)
	}
	bufs, err := c.Fetch(imap.UIDSetNum(fs[1].uid), opts).Collect()
	if err == nil && len(bufs) == 1 && len(bufs[0].FindBodySection(section)) == len(fs[1].raw) {
		t.Fatal("the FETCH was not cut")
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("connection still open")
	}
	if w.Provider.Faults().CutFetch != nil {
		t.Fatal("the fault did not clear after firing")
	}
	// A new session reads it whole.
	again := fetchAll(t, w, sim.Procura, "INBOX")
	if !bytes.Equal(again[1].raw, fs[1].raw) {
		t.Fatal("message changed")
	}
}

func TestFaultUIDValidityAndFolders(t *testing.T) {
	w, _ := world(t, noProcura)
	for range 3 {
		submit(t, w, sim.Procura)
	}
	waitKinds(t, w, sim.Procura, map[pec.Kind]int{pec.KindPostaCertificata: 3})
	c := dial(t, w, sim.Procura)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	// MOVE the first message to Archivio, flag the second.
	if _, err := c.Move(imap.UIDSetNum(1), "Archivio").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if arch := fetchAll(t, w, sim.Procura, "Archivio"); len(arch) != 1 {
		t.Fatalf("Archivio: %d", len(arch))
	}
	before := fetchAll(t, w, sim.Procura, "INBOX")
	if len(before) != 2 || before[0].uid != 2 || before[1].uid != 3 {
		t.Fatalf("INBOX before: %v", before)
	}
	if err := w.Provider.ChangeUIDValidity(sim.Procura, "INBOX"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("open session not closed after the UIDVALIDITY change")
	}
	v, err := w.Provider.UIDValidity(sim.Procura, "INBOX")
	if err != nil || v == sel.UIDValidity {
		t.Fatalf("UIDVALIDITY %d (was %d), %v", v, sel.UIDValidity, err)
	}
	c2 := dial(t, w, sim.Procura)
	sel2, err := c2.Select("INBOX", nil).Wait()
	if err != nil || sel2.UIDValidity != v || sel2.NumMessages != 2 {
		t.Fatalf("select after: %+v %v", sel2, err)
	}
	after := fetchAll(t, w, sim.Procura, "INBOX")
	if len(after) != 2 || after[0].uid != 1 || after[1].uid != 2 || !bytes.Equal(after[0].raw, before[0].raw) {
		t.Fatalf("INBOX after: uids %d %d", after[0].uid, after[1].uid)
	}
	flagged := false
	for _, f := range after[0].flags {
		flagged = flagged || f == imap.FlagFlagged
	}
	if !flagged {
		t.Fatalf("flags lost: %v", after[0].flags)
	}
	for _, tc := range []struct{ addr, folder string }{{"nessuno@x.test", "INBOX"}, {sim.Procura, "Nessuna"}} {
		if err := w.Provider.ChangeUIDValidity(tc.addr, tc.folder); err == nil {
			t.Errorf("ChangeUIDValidity(%s, %s) succeeded", tc.addr, tc.folder)
		}
		if _, err := w.Provider.UIDValidity(tc.addr, tc.folder); err == nil {
			t.Errorf("UIDValidity(%s, %s) succeeded", tc.addr, tc.folder)
		}
	}
	// Empty folders change too.
	if err := w.Provider.ChangeUIDValidity(sim.ComuneVaiano, "Archivio"); err != nil {
		t.Fatal(err)
	}
	var imapErr *imap.Error
	if err := dial(t, w, sim.Procura).Login(sim.Procura, "x").Wait(); err == nil || errors.As(err, &imapErr) && imapErr == nil {
		t.Fatal("second LOGIN accepted")
	}
	bad, err := imapclient.DialTLS(w.IMAPAddr, &imapclient.Options{TLSConfig: w.CA.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Login(sim.Procura, "sbagliata").Wait(); err == nil {
		t.Fatal("wrong IMAP password accepted")
	}
}
