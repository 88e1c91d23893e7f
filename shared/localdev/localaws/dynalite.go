// Package localaws runs the local stand-ins of AWS: dynalite (DynamoDB, a Node
// program pinned in package.json) as a child process and gofakes3 (S3) in
// process. Tests use them through localaws/testenv; `casellario dev` uses them
// directly, with data on disk.
package localaws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DynaliteOptions configure StartDynalite.
type DynaliteOptions struct {
	Path    string    // LevelDB directory for persistence; in memory when empty
	Port    int       // 0: a free port
	Binary  string    // dynalite executable; CASELLARIO_DYNALITE, else node_modules/.bin/dynalite found upwards
	Log     io.Writer // dynalite's output; discarded when nil
	Timeout time.Duration
}

// Dynalite is a running dynalite process.
type Dynalite struct {
	URL  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

// ErrNoDynalite is returned when the dynalite executable cannot be found.
var ErrNoDynalite = errors.New("dynalite not found: run `npm ci` in the repository root (or `make tools`), or set CASELLARIO_DYNALITE to its path")

// FindDynalite returns the dynalite executable: $CASELLARIO_DYNALITE, or
// node_modules/.bin/dynalite in the working directory or a parent, up to the
// directory holding go.mod.
func FindDynalite() (string, error) {
	if p := os.Getenv("CASELLARIO_DYNALITE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CASELLARIO_DYNALITE=%s: %w (unset it to use node_modules/.bin/dynalite after `npm ci`)", p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", ".bin", "dynalite")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", ErrNoDynalite
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoDynalite
		}
		dir = parent
	}
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartDynalite starts dynalite on 127.0.0.1 and waits until it listens.
func StartDynalite(ctx context.Context, opt DynaliteOptions) (*Dynalite, error) {
	bin := opt.Binary
	if bin == "" {
		var err error
		if bin, err = FindDynalite(); err != nil {
			return nil, err
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, errors.New("node not found on PATH: dynalite needs Node.js 20 or later")
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken before dynalite binds it
		port := opt.Port
		if port == 0 {
			p, err := FreePort()
			if err != nil {
				return nil, err
			}
			port = p
		}
		d, err := startDynalite(ctx, bin, port, opt)
		if err == nil {
			return d, nil
		}
		lastErr = err
		if opt.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

func startDynalite(ctx context.Context, bin string, port int, opt DynaliteOptions) (*Dynalite, error) {
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		// Tables are ACTIVE at once: tests create one per test.
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
	if opt.Path != "" {
		if err := os.MkdirAll(opt.Path, 0o700); err != nil {
			return nil, err
		}
		args = append(args, "--path", opt.Path)
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = sysProcAttr()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting dynalite (%s): %w", bin, err)
	}
	d := &Dynalite{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	var out strings.Builder
	var outMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if opt.Log != nil {
				fmt.Fprintln(opt.Log, line)
			}
			outMu.Lock()
			if out.Len() < 4096 {
				out.WriteString(line + "\n")
			}
			outMu.Unlock()
			if !signalled && strings.Contains(line, "listening") {
				signalled = true
				close(ready)
			}
		}
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		close(d.done)
	}()
	timer := time.NewTimer(opt.Timeout)
	defer timer.Stop()
	select {
	case <-ready:
		return d, nil
	case <-d.done:
		outMu.Lock()
		defer outMu.Unlock()
		return nil, fmt.Errorf("dynalite exited at start: %s", strings.TrimSpace(out.String()))
	case <-timer.C:
		d.Stop()
		return nil, fmt.Errorf("dynalite did not listen within %s", opt.Timeout)
	case <-ctx.Done():
		d.Stop()
		return nil, ctx.Err()
	}
}

// Stop ends dynalite (its whole process group) and waits for it.
func (d *Dynalite) Stop() {
	d.once.Do(func() {
		if d.cmd.Process != nil {
			killGroup(d.cmd.Process.Pid)
		}
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
		}
	})
}
