package sim_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/localdev/sim/simtest"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pec/compose"
	"github.com/casellario-pec/casellario/shared/pec/pki"
)

// persistent starts a simulator keeping its state in dir; the caller closes it
// (a cleanup closes it again, harmlessly).
func persistent(t *testing.T, dir string, mod func(*sim.Config)) *sim.World {
	t.Helper()
	cfg := sim.Default()
	cfg.Clock = clock.NewFake(t0)
	cfg.Journal = true
	cfg.Procura.Poll = clock.Duration(20 * time.Millisecond)
	cfg.Procura.Delay = 0
	cfg.Dir, cfg.Persist = dir, true
	if mod != nil {
		mod(&cfg)
	}
	return simtest.Start(t, cfg)
}

func request(t *testing.T, w *sim.World, number string) string {
	t.Helper()
	msg, id := newMail(t, compose.Mail{From: sim.ComunePrato, To: []string{sim.Procura},
		Subject:     "Richiesta certificati del casellario giudiziario - Prot. n. " + number + " del 25/11/2026",
		Attachments: []compose.Attachment{letter(), subjectsFile(t, people[:2])}}, nil)
	if err := send(t, w, sim.ComunePrato, msg, sendOpt{}); err != nil {
		t.Fatal(err)
	}
	return id
}

type folderState struct {
	uidValidity uint32
	msgs        []fetched
}

// state reads every folder of the default mailboxes (signatures checked
// against the world's CA by fetchAll).
func state(t *testing.T, w *sim.World) map[string]folderState {
	t.Helper()
	out := map[string]folderState{}
	for _, m := range w.Mailboxes {
		for _, f := range []string{"INBOX", "Archivio"} {
			uv, err := w.Provider.UIDValidity(m.Address, f)
			if err != nil {
				t.Fatal(err)
			}
			out[m.Address+"/"+f] = folderState{uv, fetchAll(t, w, m.Address, f)}
		}
	}
	return out
}

func sameState(t *testing.T, want, got map[string]folderState) {
	t.Helper()
	for k, w := range want {
		g := got[k]
		if g.uidValidity != w.uidValidity || len(g.msgs) != len(w.msgs) {
			t.Fatalf("%s: UIDVALIDITY %d, %d messages; want %d, %d", k, g.uidValidity, len(g.msgs), w.uidValidity, len(w.msgs))
		}
		for i := range w.msgs {
			wf, gf := slices.Sorted(slices.Values(w.msgs[i].flags)), slices.Sorted(slices.Values(g.msgs[i].flags))
			if g.msgs[i].uid != w.msgs[i].uid || !slices.Equal(gf, wf) || !bytes.Equal(g.msgs[i].raw, w.msgs[i].raw) {
				t.Fatalf("%s #%d: UID %d flags %v (%d bytes); want UID %d flags %v (%d bytes)", k, i,
					g.msgs[i].uid, gf, len(g.msgs[i].raw), w.msgs[i].uid, wf, len(w.msgs[i].raw))
			}
		}
	}
}

// TestPersistRestart: the state of a world comes back in the next one on the
// same folder: CA, messages, UIDs, UIDVALIDITY, flags; the Procura answers
// what was waiting and nothing twice.
func TestPersistRestart(t *testing.T) {
	dir := t.TempDir()
	w1 := persistent(t, dir, nil)

	// Request A is answered before the restart.
	idA := request(t, w1, "0000101")
	waitUntil(t, "the reply to A", func() bool { return len(w1.Procura.Replies()) == 1 })
	waitKinds(t, w1, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 1, pec.KindAvvenutaConsegna: 1, pec.KindPostaCertificata: 1})
	checkProcuraMailbox(t, w1)

	// Request B arrives while the Procura is down: it waits, unanswered.
	if err := w1.Procura.Close(); err != nil {
		t.Fatal(err)
	}
	idB := request(t, w1, "0000102")
	waitKinds(t, w1, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 2, pec.KindAvvenutaConsegna: 2, pec.KindPostaCertificata: 1})

	// The Comune reads a receipt, tags another and files the reply: a UID gap in INBOX.
	c := dial(t, w1, sim.ComunePrato)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	fs := fetchAll(t, w1, sim.ComunePrato, "INBOX")
	acc, reply := find(fs, pec.KindAccettazione)[0].uid, find(fs, pec.KindPostaCertificata)[0].uid
	if err := c.Store(imap.UIDSetNum(acc), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, "$Protocollato"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(reply), "Archivio").Wait(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	before := state(t, w1)
	caPEM, caFile := w1.CAPEM, w1.CAFile
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca-key.pem: %v, %v", fi, err)
	}

	// Restarted with the Procura off: everything as it was, twice (a restored
	// state saves and restores again).
	for i := range 2 {
		w := persistent(t, dir, func(c *sim.Config) { c.Procura.Disabled = true })
		if !bytes.Equal(w.CAPEM, caPEM) || w.CAFile != caFile {
			t.Fatalf("restart %d: the CA changed", i)
		}
		sameState(t, before, state(t, w))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// Restarted with the Procura: B is answered, A is not answered again.
	w3 := persistent(t, dir, nil)
	waitUntil(t, "the reply to B", func() bool { return len(w3.Procura.Replies()) == 1 })
	time.Sleep(150 * time.Millisecond) // several polls
	if r := w3.Procura.Replies(); len(r) != 1 || r[0].RequestMessageID != idB {
		t.Fatalf("replies after the restart: %+v (A is %s, B is %s)", r, idA, idB)
	}
	waitKinds(t, w3, sim.ComunePrato, map[pec.Kind]int{pec.KindAccettazione: 2, pec.KindAvvenutaConsegna: 2, pec.KindPostaCertificata: 1})
	fs = fetchAll(t, w3, sim.ComunePrato, "INBOX")
	if got := find(fs, pec.KindPostaCertificata)[0].msg.Original.Header.MessageID("In-Reply-To"); got != idB {
		t.Fatalf("new reply in reply to %q, want B %q", got, idB)
	}
	if a := find(fs, pec.KindAccettazione)[0]; a.uid != acc || !hasFlag(a.flags, "$protocollato") { // imapmemserver lower-cases keywords
		t.Fatalf("acceptance of A: UID %d flags %v", a.uid, a.flags)
	}
	waitUntil(t, "both requests flagged answered", func() bool {
		n := 0
		for _, f := range find(fetchAll(t, w3, sim.Procura, "INBOX"), pec.KindPostaCertificata) {
			if hasFlag(f.flags, imap.FlagAnswered) {
				n++
			}
		}
		return n == 2
	})
	// Old messages verify against the CA file on disk.
	trust, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := pec.ParseTrustStore(trust)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before[sim.ComunePrato+"/Archivio"].msgs {
		if m, err := pec.Parse(f.raw, pec.ReadOptions{TrustStore: ts}); err != nil || m.Signature.Status != pec.SignatureValid {
			t.Fatalf("old reply: %v %v", err, m.Signature.Status)
		}
	}
}

// TestPersistKilled: a change is on disk shortly after it happens, without
// Close (casellario dev may be killed).
func TestPersistKilled(t *testing.T) {
	dir := t.TempDir()
	w := persistent(t, dir, func(c *sim.Config) { c.Procura.Disabled = true })
	raw := []byte("From: a@b.test\r\nTo: protocollo@pec.comune.prato.test\r\nSubject: prova\r\nMessage-ID: <k@b.test>\r\n\r\nciao\r\n")
	if err := w.Provider.Append(sim.ComunePrato, "Archivio", raw); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, "mail", url.PathEscape(sim.ComunePrato), "index.json")
	waitUntil(t, "the index to be written", func() bool {
		b, _ := os.ReadFile(index)
		return bytes.Contains(b, []byte(`"uid": 1`))
	})
	// The folder as it is now, as a killed process leaves it.
	snap := t.TempDir()
	if err := os.CopyFS(snap, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	w2 := persistent(t, snap, func(c *sim.Config) { c.Procura.Disabled = true })
	fs := fetchAll(t, w2, sim.ComunePrato, "Archivio")
	if len(fs) != 1 || !bytes.Equal(fs[0].raw, raw) || fs[0].uid != 1 {
		t.Fatalf("after the kill: %d messages", len(fs))
	}
}

// TestPersistErrors: a state that cannot be trusted stops Start with an error
// naming the file; a folder used before without persistence gets a new CA.
func TestPersistErrors(t *testing.T) {
	comune := filepath.Join("mail", url.PathEscape(sim.ComunePrato))
	tests := []struct {
		name    string
		noDir   bool
		damage  func(t *testing.T, dir string)
		wantErr string // "" when Start must succeed
	}{
		{name: "persist without dir", noDir: true, wantErr: "persist needs dir"},
		{name: "index not JSON", damage: func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, comune, "index.json"), []byte("{nope"))
		}, wantErr: filepath.Join(comune, "index.json") + " is corrupt"},
		{name: "index out of range", damage: func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, comune, "index.json"), `"uid_validity": 1,`, `"uid_validity": 99999999,`)
		}, wantErr: filepath.Join(comune, "index.json") + " is corrupt"},
		{name: "message altered", damage: func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, comune, "2-1.eml"), "ciao", "CIAO")
		}, wantErr: filepath.Join(comune, "2-1.eml") + " is corrupt"},
		{name: "message missing", damage: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, comune, "2-1.eml")); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "message missing"},
		{name: "key of another CA", damage: func(t *testing.T, dir string) {
			ca, err := pki.New("altra", false)
			if err != nil {
				t.Fatal(err)
			}
			k, _ := ca.KeyPEM()
			write(t, filepath.Join(dir, "ca-key.pem"), k)
		}, wantErr: "ca-key.pem: pki: the private key does not match"},
		{name: "ca.pem without key: a new CA", damage: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tc.noDir {
				w := persistent(t, dir, func(c *sim.Config) { c.Procura.Disabled = true })
				if err := w.Provider.Append(sim.ComunePrato, "Archivio", []byte("Subject: x\r\n\r\nciao\r\n")); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				tc.damage(t, dir)
			} else {
				dir = ""
			}
			cfg := sim.Default()
			cfg.Dir, cfg.Persist, cfg.Procura.Disabled = dir, true, true
			needs.Server(t, needs.Simulator)
			w, err := sim.Start(context.Background(), cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				if k, err := os.ReadFile(filepath.Join(dir, "ca-key.pem")); err != nil || !bytes.Contains(k, []byte("PRIVATE KEY")) {
					t.Fatalf("no new key: %v", err)
				}
				if fs := fetchAll(t, w, sim.ComunePrato, "Archivio"); len(fs) != 1 {
					t.Fatalf("%d messages", len(fs))
				}
				return
			}
			if err == nil {
				w.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s: %q not found", path, old)
	}
	write(t, path, bytes.ReplaceAll(b, []byte(old), []byte(new)))
}
