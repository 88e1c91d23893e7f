//go:build unix

// Package dovecot runs Debian's Dovecot (dovecot-imapd) as a throw-away IMAP
// server for integration tests: a real IMAP server beside the project's own
// simulator, so that the IMAP adapter meets a server it was not written
// with. Everything lives under a temporary folder: the configuration, a TLS
// certificate from a pki CA, passwd-file users, one Maildir per user, the
// log and a rawlog of what every session sent. The server listens on
// 127.0.0.1 with implicit TLS (IMAPS) only.
//
// It runs as root (CI) and as any other user: as root the mail processes run
// as Dovecot's own "dovecot" user and the login processes as "dovenull"
// (Dovecot refuses root for both); otherwise everything runs as the caller.
//
//	srv, err := dovecot.Start(ctx, dovecot.Options{Without: []string{"MOVE"}})
//	defer srv.Stop()
//	srv.AddUser("protocollo@pec.comune.test", "secret")
//	uid, err := srv.Deliver(ctx, "protocollo@pec.comune.test", "INBOX", raw)
//
// Start fails, with ErrNotInstalled, when Dovecot is not installed: `make
// dovecot` installs it.
package dovecot

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/pec/pki"
)

// Debian's paths.
const (
	DefaultBinary  = "/usr/sbin/dovecot"
	DefaultDoveadm = "/usr/bin/doveadm"
	DefaultLDA     = "/usr/lib/dovecot/dovecot-lda"
)

// ErrNotInstalled is returned when a Dovecot program is missing.
var ErrNotInstalled = errors.New("dovecot: not installed: run `make packages` (apt-get install dovecot-imapd)")

// Options configure Start.
type Options struct {
	// Without lists capabilities the server must not announce after login
	// (say MOVE, UIDPLUS): imap_capability becomes Dovecot's own list less
	// these. Dovecot still accepts the commands; a client must not use them.
	Without []string
	// Programs; Debian's paths when empty.
	Binary, Doveadm, LDA string
	// Timeout of the start and of each harness command; 20 s when 0.
	Timeout time.Duration
	// TempDir holds the server's folder; os.TempDir() when empty. It must be
	// open to others (as /tmp is) when running as root: Dovecot's mail
	// processes do not run as root.
	TempDir string
}

// Server is a running Dovecot.
type Server struct {
	Addr string  // 127.0.0.1:PORT, IMAPS
	CA   *pki.CA // signed the server's TLS certificate
	Dir  string  // everything of this server; removed by Stop

	opts     Options
	conf     string
	id       identity
	port     int
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	users    map[string]string
	stopOnce sync.Once
	stopErr  error
}

// identity is who the processes run as.
type identity struct {
	internalUser, internalGroup, loginUser string
	mailUID, mailGID                       int
}

func whoRuns() (identity, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return identity{}, fmt.Errorf("dovecot: who am I: %w", err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return identity{}, fmt.Errorf("dovecot: my group: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return identity{u.Username, g.Name, u.Username, uid, gid}, nil
	}
	// Dovecot refuses root for mail and login processes: its package's own
	// unprivileged users.
	mail, err := user.Lookup("dovecot")
	if err != nil {
		return identity{}, fmt.Errorf("%w (no user dovecot: %v)", ErrNotInstalled, err)
	}
	if _, err := user.Lookup("dovenull"); err != nil {
		return identity{}, fmt.Errorf("%w (no user dovenull: %v)", ErrNotInstalled, err)
	}
	g, err := user.LookupGroupId(mail.Gid)
	if err != nil {
		return identity{}, fmt.Errorf("dovecot: group of user dovecot: %w", err)
	}
	uid, _ := strconv.Atoi(mail.Uid)
	gid, _ := strconv.Atoi(mail.Gid)
	return identity{"dovecot", g.Name, "dovenull", uid, gid}, nil
}

func (o *Options) defaults() {
	if o.Binary == "" {
		o.Binary = DefaultBinary
	}
	if o.Doveadm == "" {
		o.Doveadm = DefaultDoveadm
	}
	if o.LDA == "" {
		o.LDA = DefaultLDA
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
}

// Start writes a configuration under a new temporary folder and starts
// Dovecot on a free loopback port. With Options.Without it starts it twice:
// once to learn its own capability list, once without those.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts.defaults()
	for _, p := range []string{opts.Binary, opts.Doveadm, opts.LDA} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
		}
	}
	id, err := whoRuns()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.TempDir, "casellario-dovecot-")
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	// Dovecot's sockets live in DIR/run: a Unix socket's path has at most
	// 107 bytes, and Dovecot's longest name is about 30.
	if len(dir) > 70 {
		os.Remove(dir)
		return nil, fmt.Errorf("dovecot: the folder %s is too long a path for Dovecot's sockets: choose a shorter TempDir", dir)
	}
	if err := reachable(dir); err != nil {
		os.Remove(dir)
		return nil, err
	}
	s := &Server{Dir: dir, opts: opts, conf: filepath.Join(dir, "dovecot.conf"), id: id, users: map[string]string{}}
	if err := s.prepare(); err != nil {
		s.removeDir()
		return nil, err
	}
	if err := s.launch(ctx, nil); err != nil {
		s.removeDir()
		return nil, err
	}
	if len(opts.Without) > 0 {
		if err := s.without(ctx, opts.Without); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// without restarts the server with imap_capability set to Dovecot's own
// list less drop.
func (s *Server) without(ctx context.Context, drop []string) error {
	all, err := s.defaultCaps(ctx)
	if err != nil {
		return err
	}
	var keep []string
	for _, c := range all {
		if !slices.ContainsFunc(drop, func(w string) bool { return strings.EqualFold(w, c) }) {
			keep = append(keep, c)
		}
	}
	if err := s.halt(); err != nil {
		return err
	}
	return s.launch(ctx, keep)
}

// reachable checks, as root, that Dovecot's unprivileged processes can
// pass through every folder above dir.
func reachable(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("dovecot: %s is closed to others: Dovecot's mail processes (user dovecot) could not reach %s; choose another TempDir", p, dir)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// prepare makes the folder, the CA and the TLS certificate.
func (s *Server) prepare() error {
	// Others (Dovecot's unprivileged processes, as root) may pass through,
	// not list.
	if err := os.Chmod(s.Dir, 0o711); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	ca, err := pki.New("Dovecot di prova", false)
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.CA = ca
	cert, err := ca.TLSCertificate()
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return fmt.Errorf("dovecot: TLS key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(filepath.Join(s.Dir, "cert.pem"), certPEM, 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "key.pem"), keyPEM, 0o600); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	for _, d := range []string{"home", "run", "state", "users"} {
		if err := os.Mkdir(filepath.Join(s.Dir, d), 0o755); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	return nil
}

func (s *Server) usersDir() string { return filepath.Join(s.Dir, "users") }

// LogPath is Dovecot's log (every process; no syslog).
func (s *Server) LogPath() string { return filepath.Join(s.Dir, "dovecot.log") }

// config is the whole configuration: nothing from /etc/dovecot.
func (s *Server) config(caps []string) string {
	d, id, port := s.Dir, s.id, s.port
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# A throw-away Dovecot for tests (shared/localdev/dovecot): everything under %s.", d)
	w("instance_name = casellario-%s", filepath.Base(d))
	w("base_dir = %s/run", d)
	w("state_dir = %s/state", d)
	w("log_path = %s", s.LogPath())
	w("protocols = imap")
	w("listen = 127.0.0.1")
	w("ssl = required")
	w("ssl_cert = <%s/cert.pem", d)
	w("ssl_key = <%s/key.pem", d)
	w("ssl_min_protocol = TLSv1.2")
	w("auth_mechanisms = plain")
	w("auth_failure_delay = 0") // a refused login answers at once
	w("default_internal_user = %s", id.internalUser)
	w("default_internal_group = %s", id.internalGroup)
	w("default_login_user = %s", id.loginUser)
	w("mail_uid = %d", id.mailUID)
	w("mail_gid = %d", id.mailGID)
	w("first_valid_uid = %d", id.mailUID)
	w("first_valid_gid = %d", id.mailGID)
	w("mail_location = maildir:~/Maildir")
	w("mail_fsync = never") // a throw-away server: no waiting for the disk
	// Every session's input, written by the session's own process before it
	// answers: what a client sent, for tests to check.
	w("rawlog_dir = %s/home/%%u/rawlog", d)
	w("lda_mailbox_autocreate = yes")
	w("postmaster_address = postmaster@localhost")
	if caps != nil {
		w("imap_capability = %s", strings.Join(caps, " "))
	}
	// A file per user: Dovecot reads a passwd-file again at most once a
	// second, a new file at once.
	w("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%%u %s/%%u\n}", s.usersDir())
	w("userdb {\n  driver = passwd-file\n  args = username_format=%%u %s/%%u\n}", s.usersDir())
	// No chroot: it needs root, and tests need none. One login process for
	// every connection (Dovecot's "high-performance mode"): tests log in
	// often, and starting a process each time is slow.
	w("service imap-login {\n  chroot =\n  service_count = 0\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n}", port)
	w("service imap-urlauth-login {\n  chroot =\n}")
	w("service anvil {\n  chroot =\n}")
	return b.String()
}

// launch starts the master in the foreground on a free port (tried again
// when another process took the port first) and waits until it greets.
func (s *Server) launch(ctx context.Context, caps []string) error {
	var err error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			return err
		}
		if err = os.WriteFile(s.conf, []byte(s.config(caps)), 0o644); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		if err = s.run(ctx, s.port); err == nil {
			return nil
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			return err
		}
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("dovecot: a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(ctx context.Context, port int) error {
	_ = os.Remove(s.LogPath())
	cmd := exec.Command(s.opts.Binary, "-F", "-c", s.conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dovecot: starting %s: %w", s.opts.Binary, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		_ = cmd.Wait() // the error, if any, is in out and the log
		close(exited)
	}()
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	for {
		if s.greets(ctx) {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("dovecot: exited at start: %s%s", strings.TrimSpace(out.String()), s.logTail())
		case <-ctx.Done():
			s.halt()
			return fmt.Errorf("dovecot: not ready within %s: %s%s", s.opts.Timeout, strings.TrimSpace(out.String()), s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// greets reports whether the server gave its real greeting (with its
// capabilities: the login process waits for auth before it does).
func (s *Server) greets(ctx context.Context) bool {
	conn, err := s.dialTLS(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if strings.HasPrefix(line, "* OK [CAPABILITY ") {
			return true
		}
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.LogPath())
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nlog:\n" + string(b)
}

// probe is the harness's own user, for its checks.
const probe = "probe"

// defaultCaps asks Dovecot, through a pre-authenticated imap process, the
// capabilities it announces after login.
func (s *Server) defaultCaps(ctx context.Context) ([]string, error) {
	if err := s.AddUser(probe, "probe"); err != nil {
		return nil, err
	}
	out, err := s.command(ctx, strings.NewReader("a LOGOUT\r\n"), s.opts.Doveadm, "-c", s.conf, "exec", "imap", "-u", probe)
	if err != nil {
		return nil, err
	}
	_, rest, ok := strings.Cut(out, "* PREAUTH [CAPABILITY ")
	caps, _, ok2 := strings.Cut(rest, "]")
	if !ok || !ok2 {
		return nil, fmt.Errorf("dovecot: no capabilities in %q", out)
	}
	return strings.Fields(caps), nil
}

// halt ends the master and its children at once (a throw-away server:
// Dovecot's own shutdown waits seconds for its processes) and waits for it.
func (s *Server) halt() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := killGroup(cmd.Process.Pid); err != nil {
		return fmt.Errorf("dovecot: stop: %w", err)
	}
	<-exited
	return nil
}

// idle waits until no IMAP session of the server is left.
func (s *Server) idle(ctx context.Context) error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return errors.New("dovecot: stopped")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	for {
		n, err := sessions(cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("dovecot: sessions: %w", err)
		}
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dovecot: %d IMAP sessions still open", n)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Stop stops Dovecot and removes its folder. It may be called more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.halt()
		s.removeDir()
	})
	return s.stopErr
}

func (s *Server) removeDir() { _ = os.RemoveAll(s.Dir) }

// Log returns Dovecot's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath())
	return string(b)
}

// command runs a Dovecot program and returns what it wrote (stdout and
// stderr).
func (s *Server) command(ctx context.Context, stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("dovecot: %s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}
