// Package sim is the local world Casellario PEC lives in: a PEC provider
// (package provider) and the Procura (package procura) on real SMTP and IMAP,
// started together in-process. `casellario sim` runs it alone; the one-command
// local run embeds it:
//
//	w, err := sim.Start(ctx, sim.Default())
//	defer w.Close()
//	// w.SMTPAddr, w.IMAPAddr, w.CAFile (the PEC trust store and the TLS root),
//	// w.Mailboxes (addresses and passwords), w.Provider (faults), w.Procura
//
// # Configuration file
//
// Config is read from JSON (LoadConfig); every field is optional:
//
//	{
//	  "smtp": "127.0.0.1:0",            // SMTP submission, implicit TLS, AUTH PLAIN/LOGIN
//	  "imap": "127.0.0.1:0",            // IMAP, implicit TLS
//	  "inbound": "",                    // plain SMTP for ordinary mail (delivered as anomalia); "" = off
//	  "dir": "",                        // where ca.pem is written; a temporary directory when empty
//	  "persist": false,                 // keep the state in dir (required): the CA (ca.pem, ca-key.pem)
//	                                    // and the mailboxes (mail/), restored at the next start
//	  "mailboxes": [{"address": "protocollo@pec.comune.prato.test", "password": ""}],
//	                                    // empty password: generated; default: the two Comuni and the Procura
//	  "domains": [],                    // PEC domains served; default: the mailboxes' domains
//	  "folders": ["Archivio"],          // folders besides INBOX
//	  "max_size": 31457280,             // bytes; over it: non-accettazione
//	  "rsa": false,                     // RSA-2048 keys like real providers (slower to start) instead of ECDSA
//	  "clock_speed": 1,                 // 720: the 12 h / 24 h timeouts fire after 1 and 2 minutes
//	  "faults": {"receipt_delay": "0s", "drop_delivery_receipt": false, "hold_envelope": false,
//	             "refuse_smtp": false, "deliver_twice": false,
//	             "cut_fetch": {"mailbox": "casellario@pec.procura.prato.test", "message_id": ""}},
//	  "procura": {
//	    "address": "casellario@pec.procura.prato.test", // one of the mailboxes
//	    "disabled": false,
//	    "delay": "10s",                 // the evening batch, on the simulated clock
//	    "poll": "2s",                   // real time
//	    "mode": "per-person",           // or "merged", "refuse"
//	    "quote": "Rif. Vs. prot. n. {numero} del {data}",
//	    "file_name": "{codice_fiscale}.pdf", "merged_name": "certificati.pdf",
//	    "subject_regexp": "", "format": "csv-dd2012", "office": ""
//	  }
//	}
//
// Everything listens on loopback addresses only.
//
// # Persistence
//
// With "persist" the simulator survives a restart: the CA's certificate and
// private key are written to dir at the first start (ca.pem, and ca-key.pem of
// mode 0600) and loaded at later ones, so ca.pem stays the same file and old
// messages still verify; the signer and TLS certificates are issued anew from
// it at each start. Every mailbox is saved under dir/mail/ (package provider,
// Config.StateDir) within a tenth of a second of each change and at Close, and
// restored with the same folders, UIDVALIDITY, UIDs, flags, internal dates and
// bytes. The Procura answers from its mailbox's flags, so a request answered
// before the restart is not answered again and one that was waiting is
// answered after its delay, counted anew. Receipts the provider was holding
// (receipt_delay, the 12 h / 24 h timeouts) are lost. A corrupt state file
// stops Start with an error naming it.
package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
	"github.com/casellario-pec/casellario/shared/localdev/sim/internal/atomicfile"
	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
	"github.com/casellario-pec/casellario/shared/localdev/sim/provider"
	"github.com/casellario-pec/casellario/shared/pec/pki"
	"github.com/casellario-pec/casellario/shared/subjects"
)

// Default mailboxes: clearly fake test domains.
const (
	ComunePrato  = "protocollo@pec.comune.prato.test"
	ComuneVaiano = "protocollo@pec.comune.vaiano.test"
	Procura      = "casellario@pec.procura.prato.test"
)

// ProcuraConfig is the "procura" section of Config.
type ProcuraConfig struct {
	Address       string         `json:"address,omitempty"`
	Disabled      bool           `json:"disabled,omitempty"`
	Delay         clock.Duration `json:"delay,omitempty"`
	Poll          clock.Duration `json:"poll,omitempty"`
	Mode          procura.Mode   `json:"mode,omitempty"`
	Quote         string         `json:"quote,omitempty"`
	FileName      string         `json:"file_name,omitempty"`
	MergedName    string         `json:"merged_name,omitempty"`
	SubjectRegexp string         `json:"subject_regexp,omitempty"`
	Format        string         `json:"format,omitempty"`
	Office        string         `json:"office,omitempty"`
}

// Config is the simulator's configuration (see the package comment).
type Config struct {
	SMTP       string             `json:"smtp,omitempty"`
	IMAP       string             `json:"imap,omitempty"`
	Inbound    string             `json:"inbound,omitempty"`
	Dir        string             `json:"dir,omitempty"`
	Persist    bool               `json:"persist,omitempty"` // keep the CA and the mailboxes in Dir
	Mailboxes  []provider.Mailbox `json:"mailboxes,omitempty"`
	Domains    []string           `json:"domains,omitempty"`
	Folders    []string           `json:"folders,omitempty"`
	MaxSize    int64              `json:"max_size,omitempty"`
	RSA        bool               `json:"rsa,omitempty"`
	ClockSpeed float64            `json:"clock_speed,omitempty"`
	Faults     provider.Faults    `json:"faults"`
	Procura    ProcuraConfig      `json:"procura"`

	// Set by programs, not by the file.
	Clock   clock.Clock  `json:"-"` // overrides ClockSpeed (tests: a clock.Fake)
	Logger  *slog.Logger `json:"-"`
	Journal bool         `json:"-"` // keep every message the provider writes
}

// Default returns the default configuration: the Comuni of Prato and Vaiano
// and the Procura, passwords generated, ephemeral ports.
func Default() Config {
	return Config{
		Mailboxes: []provider.Mailbox{{Address: ComunePrato}, {Address: ComuneVaiano}, {Address: Procura}},
		Folders:   []string{"Archivio"},
		Procura:   ProcuraConfig{Address: Procura, Delay: clock.Duration(10e9)},
	}
}

// LoadConfig reads a JSON configuration; fields it omits keep Default values,
// except mailboxes, which replace the default ones when given.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	cfg.Mailboxes = nil
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("sim: config %s: %w", path, err)
	}
	if len(cfg.Mailboxes) == 0 {
		cfg.Mailboxes = Default().Mailboxes
	}
	return cfg, nil
}

// World is a running simulator.
type World struct {
	SMTPAddr    string
	IMAPAddr    string
	InboundAddr string // "" when off
	CAFile      string // PEM of the CA: the PEC trust store and the TLS root
	CAPEM       []byte
	CA          *pki.CA
	Mailboxes   []provider.Mailbox
	Clock       clock.Clock
	Provider    *provider.Provider
	Procura     *procura.Procura // nil when disabled

	procuraCfg procura.Config
	tmpDir     string
}

// loopback refuses addresses that are not on a loopback interface.
func loopback(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sim: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("sim: address %q is not a loopback address", addr)
	}
	return nil
}

func password() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Start starts the provider and, unless disabled, the Procura. ctx bounds
// nothing after Start returns: call Close.
func Start(ctx context.Context, cfg Config) (*World, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, a := range []string{cfg.SMTP, cfg.IMAP, cfg.Inbound} {
		if err := loopback(a); err != nil {
			return nil, err
		}
	}
	if len(cfg.Mailboxes) == 0 {
		cfg.Mailboxes = Default().Mailboxes
	}
	boxes := make([]provider.Mailbox, len(cfg.Mailboxes))
	for i, m := range cfg.Mailboxes {
		boxes[i] = provider.Mailbox{Address: strings.ToLower(strings.TrimSpace(m.Address)), Password: m.Password}
		if boxes[i].Password == "" {
			boxes[i].Password = password()
		}
	}
	w := &World{Mailboxes: boxes, Clock: cfg.Clock}
	if w.Clock == nil {
		w.Clock = clock.Scaled(cfg.ClockSpeed)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var err error
	dir, stateDir := cfg.Dir, ""
	switch {
	case cfg.Persist && dir == "":
		return nil, errors.New("sim: persist needs dir")
	case cfg.Persist:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		if w.CA, err = loadCA(dir, cfg.RSA, log); err != nil {
			return nil, err
		}
		stateDir = dir
	default:
		if w.CA, err = pki.New(caName, cfg.RSA); err != nil {
			return nil, err
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "casellario-sim-"); err != nil {
				return nil, err
			}
			w.tmpDir = dir
		}
		if err := os.WriteFile(filepath.Join(dir, caFile), w.CA.PEM(), 0o644); err != nil {
			w.Close()
			return nil, fmt.Errorf("sim: writing the CA: %w", err)
		}
	}
	w.CAPEM, w.CAFile = w.CA.PEM(), filepath.Join(dir, caFile)
	w.Provider, err = provider.Start(provider.Config{
		Mailboxes: boxes, Domains: cfg.Domains, Folders: cfg.Folders, MaxSize: cfg.MaxSize,
		SMTPAddr: cfg.SMTP, IMAPAddr: cfg.IMAP, InboundAddr: cfg.Inbound,
		CA: w.CA, Clock: w.Clock, Faults: cfg.Faults, Logger: log.With("component", "provider"), Journal: cfg.Journal,
		StateDir: stateDir,
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	w.SMTPAddr, w.IMAPAddr, w.InboundAddr = w.Provider.SMTPAddr(), w.Provider.IMAPAddr(), w.Provider.InboundAddr()
	if cfg.Procura.Disabled {
		return w, nil
	}
	pc := cfg.Procura
	if pc.Address == "" {
		pc.Address = Procura
	}
	pass := ""
	for _, m := range boxes {
		if m.Address == strings.ToLower(pc.Address) {
			pass = m.Password
		}
	}
	if pass == "" {
		w.Close()
		return nil, fmt.Errorf("sim: the Procura's address %s is not among the mailboxes", pc.Address)
	}
	format, err := subjects.ByName(pc.Format)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.procuraCfg = procura.Config{
		Address: strings.ToLower(pc.Address), Password: pass, IMAPAddr: w.IMAPAddr, SMTPAddr: w.SMTPAddr,
		TLS: w.CA.ClientTLS(), TrustStore: w.CA.Pool(), Poll: pc.Poll.D(), Delay: pc.Delay.D(),
		Clock: w.Clock, Mode: pc.Mode, Quote: pc.Quote, FileName: pc.FileName, MergedName: pc.MergedName,
		Office: pc.Office, SubjectRegexp: pc.SubjectRegexp, Format: format, Logger: log.With("component", "procura"),
	}
	if w.Procura, err = procura.Start(w.procuraCfg); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

const (
	caName    = "CA del gestore PEC simulato"
	caFile    = "ca.pem"
	caKeyFile = "ca-key.pem"
)

// loadCA loads the CA saved in dir, or makes one and saves it there: the
// certificate first, then the key (mode 0600), so that a start interrupted in
// between makes a new CA next time instead of failing.
func loadCA(dir string, useRSA bool, log *slog.Logger) (*pki.CA, error) {
	certPath, keyPath := filepath.Join(dir, caFile), filepath.Join(dir, caKeyFile)
	keyPEM, err := os.ReadFile(keyPath)
	switch {
	case err == nil:
		certPEM, err := os.ReadFile(certPath)
		if err != nil {
			return nil, fmt.Errorf("sim: saved CA: %w (move %s aside to make a new CA)", err, keyPath)
		}
		ca, err := pki.Parse(certPEM, keyPEM, useRSA)
		if err != nil {
			return nil, fmt.Errorf("sim: saved CA %s, %s: %w (move both aside to make a new CA)", certPath, keyPath, err)
		}
		log.Info("CA loaded", "file", certPath)
		return ca, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("sim: saved CA: %w", err)
	}
	ca, err := pki.New(caName, useRSA)
	if err != nil {
		return nil, err
	}
	keyPEM, err = ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(certPath, ca.PEM(), 0o644); err != nil {
		return nil, fmt.Errorf("sim: writing the CA: %w", err)
	}
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("sim: writing the CA key: %w", err)
	}
	log.Info("CA made and saved", "file", certPath)
	return ca, nil
}

// RestartProcura stops the Procura and starts a new one with the same
// configuration (what it answered is known only from the mailbox's flags).
func (w *World) RestartProcura() error {
	if w.Procura == nil {
		return errors.New("sim: the Procura is disabled")
	}
	w.Procura.Close()
	p, err := procura.Start(w.procuraCfg)
	if err != nil {
		return err
	}
	w.Procura = p
	return nil
}

// Password returns the password of a mailbox ("" when unknown).
func (w *World) Password(address string) string {
	for _, m := range w.Mailboxes {
		if strings.EqualFold(m.Address, address) {
			return m.Password
		}
	}
	return ""
}

// Ready is the line `casellario sim` prints when ready.
type Ready struct {
	SMTP      string             `json:"smtp"`
	IMAP      string             `json:"imap"`
	Inbound   string             `json:"inbound,omitempty"`
	CA        string             `json:"ca"`
	Mailboxes []provider.Mailbox `json:"mailboxes"`
}

// Ready returns what `casellario sim` prints.
func (w *World) Ready() Ready {
	return Ready{SMTP: w.SMTPAddr, IMAP: w.IMAPAddr, Inbound: w.InboundAddr, CA: w.CAFile, Mailboxes: w.Mailboxes}
}

// Close stops everything and removes the temporary directory, if one was made.
func (w *World) Close() error {
	var errs []error
	if w.Procura != nil {
		errs = append(errs, w.Procura.Close())
	}
	if w.Provider != nil {
		errs = append(errs, w.Provider.Close())
	}
	if w.tmpDir != "" {
		errs = append(errs, os.RemoveAll(w.tmpDir))
	}
	return errors.Join(errs...)
}

// CutFetch is provider.CutFetch, for callers of this package.
type CutFetch = provider.CutFetch
