package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/fiscalcode"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/pec"
	"github.com/casellario-pec/casellario/shared/pecmail"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// TestCrashRecovery kills the local run with SIGKILL at random moments while
// lists go through, restarts it on the same data folder each time, and checks
// that in the end every valid person is certified exactly once, every request
// reached the Procura exactly once and protocol numbers are distinct. The PEC
// provider and the Procura run in a process of their own, as real ones
// would: only our system crashes.
//
// CASELLARIO_CRASH_KILLS sets the number of kills (default 4),
// CASELLARIO_CRASH_SEED the random seed (logged, to replay a failure),
// CASELLARIO_CRASH_LOG=1 prints the last run's log at the end.
func TestCrashRecovery(t *testing.T) {
	// Several local runs one after the other (seconds each), the simulator as a process.
	needs.Server(t, needs.LocalRun)
	kills := envInt(t, "CASELLARIO_CRASH_KILLS", 4)
	seed := uint64(envInt(t, "CASELLARIO_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("kills %d, seed %d (CASELLARIO_CRASH_SEED=%d replays the timing)", kills, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dir := t.TempDir()

	simReady := startSimProcess(t, dir)
	data := filepath.Join(dir, "data")
	offices := []struct{ tenant, office string }{{"c_g999", "SUAP"}, {"c_g999", "CONTRATTI"}, {"c_l537", "SUAP"}, {"c_g999", "ACQUISTI"}}
	const perList = 5
	var submitted []string // upload ids
	var run *child
	next := 0
	for k := 0; k <= kills; k++ {
		run = startDev(t, dir, data, simReady, k)
		// Lists arrive while the system works: one or two per life.
		for n := 0; n < 1+k%2 && next < len(offices)*2; n++ {
			o := offices[next%len(offices)]
			submitted = append(submitted, submitList(t, run.ep, o.tenant, o.office, next, perList))
			next++
		}
		if k == kills {
			break // the last life: let it finish
		}
		time.Sleep(time.Duration(200+rng.IntN(4000)) * time.Millisecond)
		run.kill(t)
	}
	for next < len(offices)*2 { // what the kills left unsent
		o := offices[next%len(offices)]
		submitted = append(submitted, submitList(t, run.ep, o.tenant, o.office, next, perList))
		next++
	}
	restart := time.Now()
	target, err := localTarget(run.ep)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(6 * time.Minute) // a liveness bound (2-minute leases, slow CI machines), not a figure: the figure is logged
	for {
		done := 0
		for _, id := range submitted {
			u, err := target.store.GetUpload(ctx, tenantOf(t, target, id), id)
			if err == nil && u.State == domain.UploadCompleted {
				done++
			}
		}
		if done == len(submitted) {
			break
		}
		if time.Now().After(deadline) {
			run.dumpLog(t)
			t.Fatalf("%d of %d lists completed %s after the last restart", done, len(submitted), time.Since(restart).Round(time.Second))
		}
		time.Sleep(time.Second)
	}
	t.Logf("every list completed %s after the last restart (%d kills)", time.Since(restart).Round(time.Second), kills)
	if os.Getenv("CASELLARIO_CRASH_LOG") != "" {
		run.dumpLog(t)
	}

	// Every valid person certified exactly once, in one batch.
	inBatch := map[string]string{}
	numbers := map[string]string{}
	sent := map[string]bool{} // Message-IDs of the batches that left
	for _, tn := range []string{"c_g999", "c_l537"} {
		bs, err := target.store.ListBatches(ctx, tn, "", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.Protocol.Number != "" {
				key := tn + "/" + b.Protocol.Number + "/" + strconv.Itoa(b.Protocol.Date.Year)
				if other, dup := numbers[key]; dup {
					t.Errorf("protocol number %s given to batches %s and %s", key, other, b.ID)
				}
				numbers[key] = b.ID
			}
			if b.State == domain.BatchFailed {
				t.Errorf("batch %s failed: %s", b.ID, b.Reason)
				continue
			}
			if b.MessageID != "" {
				sent[b.MessageID] = true
			}
			for _, p := range b.People {
				if other, dup := inBatch[p]; dup {
					t.Errorf("person %s in batches %s and %s", p, other, b.ID)
				}
				inBatch[p] = b.ID
			}
		}
	}
	people := 0
	for _, id := range submitted {
		subs, err := target.store.SubjectsOfUpload(ctx, tenantOf(t, target, id), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			people++
			if s.State != domain.PersonCertified || s.Certificate == nil || inBatch[s.ID] != s.Batch {
				t.Errorf("person %s: %s in batch %s (%+v)", s.ID, s.State, s.Batch, s.Certificate)
			}
		}
	}
	if people != len(submitted)*perList {
		t.Errorf("%d people for %d lists of %d", people, len(submitted), perList)
	}
	// Every request reached the Procura exactly once.
	got := procuraRequests(t, simReady)
	for id := range sent {
		if got[id] != 1 {
			t.Errorf("request %s reached the Procura %d times", id, got[id])
		}
	}
	if len(got) != len(sent) {
		t.Errorf("the Procura received %d requests, %d batches were sent", len(got), len(sent))
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// child is a casellario process started by the test.
type child struct {
	cmd *exec.Cmd
	log string
	ep  localrun.Endpoints
}

func cliCommand(t *testing.T, logPath string, args ...string) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// firstLine reads the JSON line a command prints when ready.
func firstLine(t *testing.T, out io.Reader, what string) []byte {
	t.Helper()
	lines := make(chan []byte, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("%s exited before it was ready", what)
		}
		return l
	case <-time.After(90 * time.Second):
		t.Fatalf("%s not ready after 90 s", what)
	}
	return nil
}

// startSimProcess starts `casellario sim`, persistent, with the Procura answering
// within seconds, and writes its ready line where `dev --sim` reads it.
func startSimProcess(t *testing.T, dir string) string {
	t.Helper()
	cfg := map[string]any{
		"dir": filepath.Join(dir, "sim"), "persist": true,
		"mailboxes": []map[string]string{{"address": sim.ComunePrato, "password": "demo-prato"},
			{"address": sim.ComuneVaiano, "password": "demo-vaiano"}, {"address": sim.Procura, "password": "procura"}},
		"procura": map[string]any{"address": sim.Procura, "delay": "2s", "poll": "300ms"},
	}
	cfgPath := filepath.Join(dir, "sim.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := cliCommand(t, filepath.Join(dir, "sim.log"), "sim", "--config", cfgPath)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line := firstLine(t, out, "the simulator")
	ready := filepath.Join(dir, "sim-ready.json")
	if err := os.WriteFile(ready, line, 0o600); err != nil {
		t.Fatal(err)
	}
	return ready
}

// startDev starts a local run on data with the external simulator.
func startDev(t *testing.T, dir, data, simReady string, life int) *child {
	t.Helper()
	log := filepath.Join(dir, fmt.Sprintf("dev-%d.log", life))
	cmd, out := cliCommand(t, log, "dev", "--data", data, "--sim", simReady, "--dispatch-every", "1s", "--poll-every", "1s",
		"--api-addr", "127.0.0.1:0", "--grace", "20s")
	c := &child{cmd: cmd, log: log}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			_ = c.cmd.Wait()
		}
	})
	line := firstLine(t, out, fmt.Sprintf("local run %d", life))
	if err := json.Unmarshal(line, &c.ep); err != nil {
		t.Fatalf("local run %d ready line %q: %v", life, line, err)
	}
	return c
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

func (c *child) dumpLog(t *testing.T) {
	b, _ := os.ReadFile(c.log)
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	t.Logf("last local run's log:\n%s", b)
}

// submitList puts a list of n distinct valid people into the uploads bucket,
// as `casellario submit` does; a list the run refused to take (it was being
// killed) is put again.
func submitList(t *testing.T, ep localrun.Endpoints, tenant, office string, seq, n int) string {
	t.Helper()
	target, err := localTarget(ep)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita;Provincia;Codice fiscale\r\n")
	sur := []string{"Rossi", "Bianchi", "Verdi", "Neri", "Gialli", "Bruni", "Conti", "Greco"}
	for i := 0; i < n; i++ {
		s, name := sur[(seq+i)%len(sur)], fmt.Sprintf("Nome%c%c", 'A'+seq, 'A'+i)
		born := domain.Date{Year: 1960 + seq, Month: time.Month(1 + i), Day: 10 + i}
		fmt.Fprintf(&b, "%s;%s;M;%s;Prato;PO;%s\r\n", s, name, born.Italian(), fiscalcode.Compute(s, name, domain.Male, born, "G999"))
	}
	id := domain.NewID()
	key := s3docs.UploadKey(tenant, office, id, "csv")
	if _, err := target.docs.Put(context.Background(), target.docs.Upload(key), "text/csv", bytes.NewReader(b.Bytes())); err != nil {
		t.Fatal(err)
	}
	return id
}

func tenantOf(t *testing.T, target *target, upload string) string {
	t.Helper()
	for _, tn := range []string{"c_g999", "c_l537"} {
		if _, err := target.store.GetUpload(context.Background(), tn, upload); err == nil {
			return tn
		}
	}
	return "c_g999" // not recorded yet: the caller waits
}

// procuraRequests counts the requests in the Procura's INBOX by the
// Message-ID of the original.
func procuraRequests(t *testing.T, readyPath string) map[string]int {
	t.Helper()
	var ready sim.Ready
	b, err := os.ReadFile(readyPath)
	if err == nil {
		err = json.Unmarshal(b, &ready)
	}
	if err != nil {
		t.Fatal(err)
	}
	peers, err := localrun.PeersOf(ready)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := pecmail.TLSWithRoots(peers.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialTLS(ready.IMAP, &imapclient.Options{TLSConfig: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(sim.Procura, peers.Password(sim.Procura)).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	if len(sd.AllUIDs()) == 0 {
		return out
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSetNum(sd.AllUIDs()...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range bufs {
		msg, err := pec.Parse(m.FindBodySection(sec), pec.ReadOptions{})
		if err == nil && msg.Kind == pec.KindPostaCertificata && strings.HasPrefix(msg.RefMessageID, "<casellario.") {
			out[msg.RefMessageID]++
		}
	}
	return out
}
