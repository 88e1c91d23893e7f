// Package localrun runs the whole of Casellario PEC on one machine: dynalite as
// DynamoDB, gofakes3 as S3 (on disk), the PEC provider and Procura simulator, and the
// functions' handlers wired as in AWS: an object put into the uploads bucket triggers
// intake (as the S3 event notification would), and scheduler loops run poll, and the
// intake sweep followed by dispatch (as EventBridge would). `casellario dev` starts it; end-to-end tests and benchmarks
// start it too. Its data lives in one folder and survives a restart.
package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws"
	"github.com/casellario-pec/casellario/shared/localdev/mailsink"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Names of the local resources.
const (
	Table           = "casellario"
	UploadsBucket   = "casellario-uploads"
	DocumentsBucket = "casellario-documents"
	EndpointsFile   = "endpoints.json"
)

// Options configure a local run. The zero value is usable: data in DefaultDataDir(),
// dispatch every minute, the Procura answering after 30 seconds.
type Options struct {
	DataDir       string
	DispatchEvery time.Duration // 0: one minute; negative: only on demand
	PollEvery     time.Duration // 0: 30 seconds; negative: only on demand
	ProcuraDelay  time.Duration // the Procura's "evening batch"; 0: 30 seconds
	Grace         time.Duration // dispatch's wait for the acceptance of a submission of unknown outcome; 0: its default
	Tenants       *tenants.Config
	Log           *slog.Logger
	InMemory      bool   // tests: S3 in memory, DynamoDB in memory, nothing kept
	APIAddr       string // the offices' API and web page; "": a free loopback port
	// DirectUploadMax: the page sends larger lists by presigned PUT to the
	// local S3; 0: as in AWS (api.DefaultDirectUploadMax).
	DirectUploadMax int64
	// Mailboxes are further mailboxes of the simulator, beside the Comuni's
	// and the Procura's: other certified senders (a citizen, a firm).
	Mailboxes []string
	// Sim, when set, is a PEC provider and Procura already running (what
	// `casellario sim` prints): the run uses it instead of starting its own,
	// so that it outlives the run's crashes as a real provider would.
	Sim *sim.Ready
}

// Mailbox is a PEC mailbox of the simulator, for endpoints.json.
type Mailbox struct {
	Address  string `json:"address"`
	Password string `json:"password"`
}

// Endpoints is what endpoints.json holds: how the CLI and a person reach the local run.
type Endpoints struct {
	Region          string    `json:"region"`
	S3              string    `json:"s3"`
	DynamoDB        string    `json:"dynamodb"`
	Table           string    `json:"table"`
	UploadsBucket   string    `json:"uploads_bucket"`
	DocumentsBucket string    `json:"documents_bucket"`
	SMTP            string    `json:"smtp"`
	IMAP            string    `json:"imap"`
	CA              string    `json:"ca"`
	Mailboxes       []Mailbox `json:"mailboxes"`
	Control         string    `json:"control"`   // POST /dispatch runs dispatch now; GET /usage what the run used
	MailSMTP        string    `json:"mail_smtp"` // the offices' mail stand-in (plain SMTP)
	Mail            string    `json:"mail"`      // its HTTP list: GET /messages, /messages/{id}
	Tenants         string    `json:"tenants"`   // path of the tenants file the run uses
	API             string    `json:"api"`       // the offices' API (/api/v1/) and web page (/)
	Users           []User    `json:"users"`     // demo users of the API with their tokens
}

// DefaultDataDir is where `casellario dev` keeps its data unless told otherwise:
// $CASELLARIO_DATA, else $XDG_DATA_HOME/casellario, else ~/.local/share/casellario.
func DefaultDataDir() string {
	if d := os.Getenv("CASELLARIO_DATA"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "casellario")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "casellario")
	}
	return filepath.Join(os.TempDir(), "casellario")
}

// Run is a running local system.
type Run struct {
	Endpoints Endpoints
	AWS       aws.Config
	Dynamo    *dynamodb.Client
	S3        *s3.Client
	Store     *store.Dynamo
	Docs      *s3docs.Docs
	Tenants   *tenants.Config
	World     *sim.World // the simulator the run started; nil with Options.Sim
	Peers     Peers      // the PEC provider the run talks to
	Calls     *awsconf.Calls

	meter       *meter
	opts        Options
	log         *slog.Logger
	dyn         *localaws.Dynalite
	s3srv       *localaws.S3
	pipeline    *pipeline
	apiListener net.Listener // taken before wiring: notices link to the page
	sink        *mailsink.Sink
	stop        context.CancelFunc
	wg          sync.WaitGroup
	closers     []func()
}

// Start brings the local system up. Close it when done.
func Start(ctx context.Context, o Options) (_ *Run, err error) {
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir()
	}
	if o.DispatchEvery == 0 {
		o.DispatchEvery = time.Minute
	}
	if o.PollEvery == 0 {
		o.PollEvery = 30 * time.Second
	}
	if o.ProcuraDelay == 0 {
		o.ProcuraDelay = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Tenants == nil {
		o.Tenants = tenants.Demo()
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	r := &Run{opts: o, log: o.Log, stop: stop, meter: newMeter()}
	defer func() {
		if err != nil {
			r.Close() // what started so far
		}
	}()

	dynOpts := localaws.DynaliteOptions{}
	if !o.InMemory {
		dynOpts.Path = filepath.Join(o.DataDir, "dynamodb")
	}
	if r.dyn, err = localaws.StartDynalite(ctx, dynOpts); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.dyn.Stop)

	s3Opts := localaws.S3Options{OnCreated: r.objectCreated}
	if !o.InMemory {
		s3Opts.Dir = filepath.Join(o.DataDir, "s3")
	}
	if r.s3srv, err = localaws.StartS3(s3Opts); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { _ = r.s3srv.Stop() })
	for _, b := range []string{UploadsBucket, DocumentsBucket} {
		if err := r.s3srv.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("creating bucket %s: %w", b, err)
		}
	}

	r.AWS = aws.Config{Region: awsconf.DefaultRegion, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	r.Calls = awsconf.Count(&r.AWS)
	r.Dynamo = dynamodb.NewFromConfig(r.AWS, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(r.dyn.URL) })
	r.S3 = awsconf.NewS3(r.AWS, true, func(o *s3.Options) { o.BaseEndpoint = aws.String(r.s3srv.URL); o.UsePathStyle = true })
	if err := store.CreateTable(ctx, r.Dynamo, Table); err != nil {
		return nil, err
	}
	r.Store = store.New(r.Dynamo, store.Options{Table: Table})
	r.Docs = s3docs.New(r.S3, s3docs.Options{UploadsBucket: UploadsBucket, DocumentsBucket: DocumentsBucket})

	if o.Sim != nil {
		if r.Peers, err = PeersOf(*o.Sim); err != nil {
			return nil, err
		}
	} else {
		if r.World, err = r.startSim(ctx); err != nil {
			return nil, err
		}
		r.closers = append(r.closers, func() { _ = r.World.Close() })
		r.Peers = Peers{SMTP: r.World.SMTPAddr, IMAP: r.World.IMAPAddr, CAFile: r.World.CAFile, CAPEM: r.World.CAPEM, Mailboxes: r.World.Mailboxes}
	}
	r.Tenants = pointAt(o.Tenants, r.Peers)
	tenantsPath := filepath.Join(o.DataDir, "tenants.json")
	if err := writeJSON(tenantsPath, r.Tenants); err != nil {
		return nil, err
	}

	if err := r.startSink(); err != nil {
		return nil, err
	}
	if err := r.listenAPI(); err != nil {
		return nil, err
	}
	if r.pipeline, err = newPipeline(r); err != nil {
		return nil, err
	}
	control, err := r.serveControl()
	if err != nil {
		return nil, err
	}
	apiURL, users, err := r.serveAPI()
	if err != nil {
		return nil, err
	}
	r.Endpoints = Endpoints{
		Region: r.AWS.Region, S3: r.s3srv.URL, DynamoDB: r.dyn.URL, Table: Table,
		UploadsBucket: UploadsBucket, DocumentsBucket: DocumentsBucket,
		SMTP: r.Peers.SMTP, IMAP: r.Peers.IMAP, CA: r.Peers.CAFile,
		Control: control, Tenants: tenantsPath, MailSMTP: r.sink.SMTPAddr, Mail: r.sink.HTTPURL,
		API: apiURL, Users: users,
	}
	for _, m := range r.Peers.Mailboxes {
		r.Endpoints.Mailboxes = append(r.Endpoints.Mailboxes, Mailbox{m.Address, m.Password})
	}
	epPath := filepath.Join(o.DataDir, EndpointsFile)
	if err := writeJSON(epPath, r.Endpoints); err != nil {
		return nil, err
	}
	// A stopped run's addresses are dead: take them away so that the CLI says
	// "no local run" instead of failing to connect.
	r.closers = append(r.closers, func() { _ = os.Remove(epPath) })
	if o.PollEvery > 0 {
		r.every(runCtx, o.PollEvery, "poll", func(ctx context.Context, id string) error {
			_, err := r.pipeline.pollNow(ctx, domain.CauseSchedule(id))
			return err
		})
	}
	if o.DispatchEvery > 0 {
		r.every(runCtx, o.DispatchEvery, "dispatch", func(ctx context.Context, id string) error {
			_, err := r.pipeline.dispatch(ctx, domain.CauseSchedule(id))
			return err
		})
	}
	return r, nil
}

// startSim starts the PEC provider and the Procura with one mailbox per tenant (its
// configured password, so the credentials in the tenants file work) and the Procura's.
func (r *Run) startSim(ctx context.Context) (*sim.World, error) {
	cfg := sim.Default()
	cfg.Dir = filepath.Join(r.opts.DataDir, "sim")
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	cfg.Logger = r.log.With("component", "sim")
	cfg.Persist = true // the CA and the mailboxes survive a restart, like the DynamoDB and S3 data
	cfg.Mailboxes = nil
	seen := map[string]bool{}
	add := func(addr, password string) {
		if !seen[addr] {
			seen[addr] = true
			cfg.Mailboxes = append(cfg.Mailboxes, provider.Mailbox{Address: addr, Password: password})
		}
	}
	for _, t := range r.opts.Tenants.Tenants {
		add(t.PEC.Address, t.PEC.Auth.Password)
	}
	for _, t := range r.opts.Tenants.Tenants {
		add(t.Procura, "")
	}
	for _, m := range r.opts.Mailboxes {
		add(m, "")
	}
	if len(r.opts.Tenants.Tenants) > 0 {
		cfg.Procura.Address = r.opts.Tenants.Tenants[0].Procura
	}
	cfg.Procura.Delay = clock.Duration(r.opts.ProcuraDelay)
	return sim.Start(ctx, cfg)
}

// Peers is the PEC provider a run talks to: its addresses, its CA (the TLS
// root and the PEC trust store) and its mailboxes.
type Peers struct {
	SMTP, IMAP string
	CAFile     string
	CAPEM      []byte
	Mailboxes  []provider.Mailbox
}

// Password returns the password of a mailbox ("" when unknown).
func (p Peers) Password(addr string) string {
	for _, m := range p.Mailboxes {
		if strings.EqualFold(m.Address, addr) {
			return m.Password
		}
	}
	return ""
}

// PeersOf reads what `casellario sim` printed: the peers of a run that uses it.
func PeersOf(r sim.Ready) (Peers, error) {
	pem, err := os.ReadFile(r.CA)
	if err != nil {
		return Peers{}, fmt.Errorf("the simulator's CA: %w", err)
	}
	return Peers{SMTP: r.SMTP, IMAP: r.IMAP, CAFile: r.CA, CAPEM: pem, Mailboxes: r.Mailboxes}, nil
}

// pointAt returns a copy of the tenants configuration whose PEC mailboxes are those
// of the simulator.
func pointAt(c *tenants.Config, p Peers) *tenants.Config {
	out := &tenants.Config{Tenants: append([]tenants.Tenant(nil), c.Tenants...)}
	for i := range out.Tenants {
		out.Tenants[i].PEC.SMTP = p.SMTP
		out.Tenants[i].PEC.IMAP = p.IMAP
		out.Tenants[i].PEC.Auth = tenants.Secret{Password: p.Password(out.Tenants[i].PEC.Address)}
		if out.Tenants[i].PEC.Username == "" {
			out.Tenants[i].PEC.Username = out.Tenants[i].PEC.Address
		}
	}
	return out
}

// every runs fn at each tick until the run stops, as an EventBridge schedule would;
// a failed run is logged and the next tick tries again.
func (r *Run) every(ctx context.Context, d time.Duration, name string, fn func(context.Context, string) error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case at := <-t.C:
				id := fmt.Sprintf("%s-%s-%d", name, at.UTC().Format("20060102T150405"), n)
				if err := fn(ctx, id); err != nil && ctx.Err() == nil {
					r.log.Error("scheduled run failed", "function", name, "err", err)
				}
			}
		}
	}()
}

// objectCreated is the S3 event notification of the local run.
func (r *Run) objectCreated(bucket, key, version string) {
	if bucket != UploadsBucket || r.pipeline == nil {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := r.pipeline.intake(ctx, key, version); err != nil {
			// The key may hold a file name that names a person: log its size only.
			// Refusals of the input itself were recorded by intake.
			switch domain.ErrorCode(err) {
			case domain.EINVALID, domain.ENOTFOUND, domain.ECONFLICT, domain.ETOOLARGE:
				r.log.Warn("intake refused an object", "key_bytes", len(key), "code", domain.ErrorCode(err))
			default:
				r.log.Error("intake failed", "key_bytes", len(key), "code", domain.ErrorCode(err))
			}
		}
	}()
}

// Close stops everything, newest first.
func (r *Run) Close() {
	if r.stop != nil {
		r.stop()
	}
	r.wg.Wait()
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadEndpoints reads an endpoints.json written by a local run.
func ReadEndpoints(path string) (Endpoints, error) {
	var e Endpoints
	b, err := os.ReadFile(path)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("%s: %w", path, err)
	}
	if e.DynamoDB == "" || e.S3 == "" || e.Table == "" {
		return e, errors.New(path + ": not an endpoints file of a local run (no dynamodb, s3 or table)")
	}
	return e, nil
}
