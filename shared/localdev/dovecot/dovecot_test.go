//go:build unix

package dovecot

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const (
	comune  = "protocollo@pec.comune.test"
	procura = "procura@pec.giustizia.test"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dovecot does not start (it is part of the tests: `make packages` installs it): %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Dovecot's log:\n%s", s.Log())
		}
		s.Stop()
	})
	for _, u := range []string{comune, procura} {
		if err := s.AddUser(u, "segreta-"+u[:4]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func mail(id, text string) []byte {
	return []byte("From: mittente@example.test\r\nTo: " + comune + "\r\nSubject: prova\r\nMessage-ID: <" + id + ">\r\n\r\n" + text + "\r\n")
}

// TestDovecotHarness: deliveries, what a second client sees and does, a
// recreated mailbox, the rawlog, and a clean stop.
func TestDovecotHarness(t *testing.T) {
	needs.Server(t, needs.Dovecot)
	t.Parallel()
	ctx := context.Background()
	s := start(t, Options{})
	// Everything of the server is in its folder: no /etc/dovecot, no syslog.
	conf, err := exec.Command(DefaultBinary, "-c", s.conf, "-n").CombinedOutput()
	if err != nil {
		t.Fatalf("dovecot -n: %v: %s", err, conf)
	}
	for _, want := range []string{"base_dir = " + s.Dir + "/run", "state_dir = " + s.Dir + "/state", "log_path = " + s.Dir + "/dovecot.log",
		"mail_location = maildir:~/Maildir", "listen = 127.0.0.1", "ssl = required"} {
		if !strings.Contains(string(conf), "\n"+want+"\n") {
			t.Errorf("dovecot -n lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), "/etc/dovecot") || strings.Contains(string(conf), "syslog") {
		t.Errorf("dovecot -n:\n%s", conf)
	}
	raws := [][]byte{mail("a@x", "uno"), mail("b@x", "due"), mail("c@x", "tre")}
	for i, raw := range raws {
		uid, err := s.Deliver(ctx, comune, "INBOX", raw)
		if err != nil || uid != uint32(i+1) {
			t.Fatalf("delivery %d: UID %d, %v", i, uid, err)
		}
	}
	if uid, err := s.Deliver(ctx, procura, "Archivio", mail("p@x", "altro")); err != nil || uid != 1 {
		t.Fatalf("delivery into a new folder of the other user: UID %d, %v", uid, err)
	}
	f, err := s.Look(ctx, comune, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Messages) != 3 || f.Messages[1].MessageID != "<b@x>" || f.Messages[1].Size != int64(len(raws[1])) ||
		!slices.Equal(f.Flags(2), []string{`\Recent`}) || !f.Has(3) || f.Has(4) || f.Flags(4) != nil {
		t.Fatalf("INBOX %+v", f)
	}
	// Looking is read-only: \Recent stays for the next client.
	if again, err := s.Look(ctx, comune, "INBOX"); err != nil || !slices.Equal(again.Flags(1), []string{`\Recent`}) {
		t.Fatalf("a second look %+v %v", again, err)
	}
	body, err := s.Body(ctx, comune, "INBOX", 2)
	if err != nil || string(body) != string(raws[1]) {
		t.Fatalf("body %q %v, want the bytes delivered", body, err)
	}
	if err := s.Flag(ctx, comune, "INBOX", 1, `\Flagged`); err != nil {
		t.Fatal(err)
	}
	if err := s.Expunge(ctx, comune, "INBOX", 2); err != nil {
		t.Fatal(err)
	}
	f, err = s.Look(ctx, comune, "INBOX")
	if err != nil || f.Has(2) || !slices.Contains(f.Flags(1), `\Flagged`) || len(f.Messages) != 2 {
		t.Fatalf("after a flag and an expunge: %+v %v", f, err)
	}
	for _, folder := range []string{"INBOX", "Archivio"} {
		user := map[string]string{"INBOX": comune, "Archivio": procura}[folder]
		before, err := s.Look(ctx, user, folder)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Recreate(ctx, user, folder); err != nil {
			t.Fatalf("recreate %s: %v", folder, err)
		}
		after, err := s.Look(ctx, user, folder)
		if err != nil || after.UIDValidity == before.UIDValidity || len(after.Messages) != 0 {
			t.Fatalf("%s recreated: %+v (before %+v) %v", folder, after, before, err)
		}
		if uid, err := s.Deliver(ctx, user, folder, mail("new-"+folder+"@x", "nuovo")); err != nil || uid != 1 {
			t.Fatalf("%s recreated: first UID %d, %v", folder, uid, err)
		}
	}
	// The rawlog has what other clients sent, not the harness's own.
	c := foreign(t, s, comune)
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{Flags: true}).Collect(); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
	cmds, err := s.Commands(comune)
	if want := []string{"EXAMINE INBOX", "UID FETCH 1 (UID FLAGS)", "LOGOUT"}; err != nil || !slices.Equal(cmds, want) {
		t.Errorf("commands %q %v, want %q", cmds, err, want)
	}
	if strings.Contains(s.Log(), "Error:") || strings.Contains(s.Log(), "Fatal:") {
		t.Errorf("Dovecot logged errors:\n%s", s.Log())
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the server's folder is left: %v", err)
	}
	if _, err := s.Client(ctx, comune); err == nil {
		t.Fatal("a stopped server still answers")
	}
}

// foreign is a client other than the harness's own.
func foreign(t *testing.T, s *Server, name string) *imapclient.Client {
	t.Helper()
	conn, err := tls.Dial("tcp", s.Addr, s.CA.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	t.Cleanup(func() { c.Close() })
	if err := c.Login(name, s.users[name]).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDovecotWithout: the capabilities announced after login, less those
// a test takes away.
func TestDovecotWithout(t *testing.T) {
	needs.Server(t, needs.Dovecot)
	t.Parallel()
	for _, tc := range []struct {
		without []string
		absent  []string
		present []string
	}{
		{nil, nil, []string{"IMAP4rev1", "MOVE", "UIDPLUS"}},
		{[]string{"move"}, []string{"MOVE"}, []string{"IMAP4rev1", "UIDPLUS"}},
		{[]string{"MOVE", "UIDPLUS"}, []string{"MOVE", "UIDPLUS"}, []string{"IMAP4rev1", "IDLE"}},
	} {
		t.Run(fmt.Sprint(tc.without), func(t *testing.T) {
			t.Parallel()
			s := start(t, Options{Without: tc.without})
			caps, err := s.Caps(context.Background(), comune)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.absent {
				if slices.Contains(caps, c) {
					t.Errorf("%s announced: %v", c, caps)
				}
			}
			for _, c := range tc.present {
				if !slices.Contains(caps, c) {
					t.Errorf("%s not announced: %v", c, caps)
				}
			}
		})
	}
}

// script writes an executable shell script standing in for a program.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// shortDir is an empty folder with a short path, open to Dovecot's
// processes, removed at the end.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "dv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDovecotStartErrors: every way Start fails says why, and leaves
// nothing behind.
func TestDovecotStartErrors(t *testing.T) {
	needs.Server(t, needs.Dovecot)
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) Options
		want string
		is   error
	}{
		{"no dovecot", func(*testing.T) Options { return Options{Binary: "/nonexistent/dovecot"} }, "make packages", ErrNotInstalled},
		{"no doveadm", func(*testing.T) Options { return Options{Doveadm: "/nonexistent/doveadm"} }, "make packages", ErrNotInstalled},
		{"no LDA", func(*testing.T) Options { return Options{LDA: "/nonexistent/dovecot-lda"} }, "make packages", ErrNotInstalled},
		{"exits at start", func(t *testing.T) Options {
			return Options{Binary: script(t, "echo broken configuration >&2; exit 89")}
		},
			"broken configuration", nil},
		{"never ready", func(t *testing.T) Options {
			return Options{Binary: script(t, "exec sleep 60"), Timeout: 300 * time.Millisecond}
		}, "not ready", nil},
		{"capabilities unknown", func(t *testing.T) Options {
			return Options{Without: []string{"MOVE"}, Doveadm: script(t, "echo '* OK no capabilities here'")}
		}, "no capabilities", nil},
		{"too long a folder", func(t *testing.T) Options {
			long := filepath.Join(shortDir(t), strings.Repeat("x", 60))
			if err := os.Mkdir(long, 0o755); err != nil {
				t.Fatal(err)
			}
			return Options{TempDir: long}
		}, "too long a path", nil},
		{"doveadm fails", func(t *testing.T) Options {
			return Options{Without: []string{"MOVE"}, Doveadm: script(t, "exit 75")}
		}, "exit status 75", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts(t)
			if opts.TempDir == "" {
				opts.TempDir = shortDir(t)
			}
			s, err := Start(context.Background(), opts)
			if err == nil {
				s.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if left, _ := os.ReadDir(opts.TempDir); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestDovecotClosedTempDir: as root, Dovecot's mail processes run as user
// dovecot, and must reach the folder; as anyone else they run as the caller.
func TestDovecotClosedTempDir(t *testing.T) {
	needs.Server(t, needs.Dovecot)
	t.Parallel()
	closed := filepath.Join(shortDir(t), "c")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{TempDir: closed})
	if os.Geteuid() != 0 {
		if err != nil {
			t.Fatalf("not root: %v", err)
		}
		s.Stop()
		return
	}
	if err == nil || !strings.Contains(err.Error(), "closed to others") {
		t.Fatalf("as root: %v", err)
	}
	if left, _ := os.ReadDir(closed); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestDovecotErrors: the harness's own refusals and Dovecot's.
func TestDovecotErrors(t *testing.T) {
	needs.Server(t, needs.Dovecot)
	t.Parallel()
	ctx := context.Background()
	s := start(t, Options{})
	if _, err := s.Deliver(ctx, comune, "INBOX", mail("a@x", "uno")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"user without a name", func() error { return s.AddUser("", "x") }, "non-empty"},
		{"user without a password", func() error { return s.AddUser("u@x", "") }, "non-empty"},
		{"a colon", func() error { return s.AddUser("u:x", "x") }, "without ':'"},
		{"a slash", func() error { return s.AddUser("../u", "x") }, "without ':'"},
		{"a line break", func() error { return s.AddUser("u@x", "x\nroot::0:0") }, "without ':'"},
		{"a leading dot", func() error { return s.AddUser(".u", "x") }, "non-empty"},
		{"twice", func() error { return s.AddUser(comune, "x") }, "exists"},
		{"deliver to nobody", func() error { _, err := s.Deliver(ctx, "nobody@x", "INBOX", mail("a@x", "")); return err }, "no user"},
		{"recreate for nobody", func() error { return s.Recreate(ctx, "nobody@x", "INBOX") }, "no user"},
		{"recreate a folder that is not there", func() error { return s.Recreate(ctx, comune, "Nessuna") }, "doveadm"},
		{"client of nobody", func() error { _, err := s.Client(ctx, "nobody@x"); return err }, "no user"},
		{"look at a folder that is not there", func() error { _, err := s.Look(ctx, comune, "Nessuna"); return err }, "select Nessuna"},
		{"body of a UID that is not there", func() error { _, err := s.Body(ctx, comune, "INBOX", 99); return err }, "no message UID 99"},
		{"flag a UID that is not there", func() error { return s.Flag(ctx, comune, "INBOX", 99, `\Flagged`) }, "no message UID 99"},
		{"expunge a UID that is not there", func() error { return s.Expunge(ctx, comune, "INBOX", 99) }, "no message UID 99"},
		{"commands of nobody", func() error { _, err := s.Commands("nobody@x"); return err }, "no user"},
		{"caps of nobody", func() error { _, err := s.Caps(ctx, "nobody@x"); return err }, "no user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("a wrong password", func(t *testing.T) {
		s.mu.Lock()
		s.users[procura] = "sbagliata"
		s.mu.Unlock()
		if _, err := s.Client(ctx, procura); err == nil || !strings.Contains(err.Error(), "AUTHENTICATIONFAILED") {
			t.Fatalf("login with a wrong password: %v", err)
		}
	})
	t.Run("an LDA that fails, or does not tell the UID", func(t *testing.T) {
		for lda, want := range map[string]string{script(t, "exit 75"): "exit status 75", script(t, "cat >/dev/null"): "did not tell the UID"} {
			s.opts.LDA = lda
			if _, err := s.Deliver(ctx, comune, "INBOX", mail("z@x", "")); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		}
		s.opts.LDA = DefaultLDA
	})
	t.Run("recreate after stop", func(t *testing.T) {
		s.Stop()
		if err := s.Recreate(ctx, comune, "INBOX"); err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Fatalf("error %v", err)
		}
	})
}

// The rawlog's lines into commands.
func TestDovecotRawlogCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, log string
		want      []string
	}{
		{"plain", "1.5 T1 EXAMINE INBOX\r\n1.6 T2 UID FETCH 3 (UID BODY.PEEK[])\r\n", []string{"EXAMINE INBOX", "UID FETCH 3 (UID BODY.PEEK[])"}},
		{"a literal", "1.5 T1 APPEND INBOX {11}\r\n1.6 abcd efgh\r\n1.7 T2 NOOP\r\n", []string{"APPEND INBOX {11}", "NOOP"}},
		{"a non-synchronising literal", "1.5 T1 APPEND INBOX {3+}\r\n1.6 abc\r\n1.7 T2 LOGOUT\r\n", []string{"APPEND INBOX {3+}", "LOGOUT"}},
		{"blank and broken lines", "\r\n1.5\r\n1.6 T1\r\n1.7 T2 NOOP\r\n", []string{"NOOP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := commands([]byte(tc.log)); !slices.Equal(got, tc.want) {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}
