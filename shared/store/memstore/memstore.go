// Package memstore is an in-memory store for tests: domain.Store and
// domain.TriageStore with the same contract as the DynamoDB store
// (shared/store), checked by the same cases (shared/store/storetest).
//
// It keeps the DynamoDB store's observable behaviour, quirks included:
// idempotent re-runs, conditional state changes (ECONFLICT), ENOTFOUND for
// ids of other tenants, events stored once per (time, state, detail, cause),
// fencing tokens of leases, cursors that never go back, protocol numbers
// without gaps per tenant, AOO, registry and year. Times are those of
// Options.Now, truncated as the table truncates them. Values handed in and
// out are copies: a caller never shares a slice or map with the store.
//
// One mutex guards everything: calls never interleave, so races the
// DynamoDB store settles by conditional writes cannot happen here.
package memstore

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Options configure a Store, as store.Options do the DynamoDB one.
type Options struct {
	Retention time.Duration    // kept after a terminal state (Batch.ExpiresAt); zero means 12 months
	Now       func() time.Time // clock; time.Now when nil
}

// Store is the in-memory store. Safe for concurrent use.
type Store struct {
	opt Options

	mu       sync.Mutex
	uploads  map[string]*upload            // tenant|id
	subjects map[string]map[int]*subject   // tenant|upload → row
	batches  map[string]*batch             // tenant|id
	events   map[string]map[string]evEntry // tenant|upload or batch → key (time#hash)
	msgIndex map[string]string             // tenant|Message-ID → batch
	manual   map[string]string             // tenant|year|number → upload
	register map[string]*register          // tenant|aoo|registry|year
	leases   map[string]*lease             // tenant|name
	cursors  map[string]domain.MailboxCursor
	attempts map[string]*domain.MessageAttempts
	triage   map[string]*triageItem // tenant|id
	seen     map[string]bool        // tenant|S|sha or tenant|I|Message-ID
}

var (
	_ domain.Store       = (*Store)(nil)
	_ domain.TriageStore = (*Store)(nil)
)

// New returns an empty store.
func New(opt Options) *Store {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Store{opt: opt,
		uploads: map[string]*upload{}, subjects: map[string]map[int]*subject{}, batches: map[string]*batch{},
		events: map[string]map[string]evEntry{}, msgIndex: map[string]string{}, manual: map[string]string{},
		register: map[string]*register{}, leases: map[string]*lease{}, cursors: map[string]domain.MailboxCursor{},
		attempts: map[string]*domain.MessageAttempts{}, triage: map[string]*triageItem{}, seen: map[string]bool{},
	}
}

type upload struct {
	u      domain.Upload
	cause  domain.Cause // of the last change
	detail string       // of the last change
}

type subject struct {
	s     domain.Subject
	cause domain.Cause // of the last change; empty until the first
}

type batch struct {
	b      domain.Batch
	cause  domain.Cause
	detail string
}

type evEntry struct {
	e   domain.Event
	key string
}

// register is one built-in register: numbers are never reused nor deleted.
// Calls never interleave here, so no number is ever annulled.
type register struct {
	counter int64
	entries map[int64]string // number → batch
}

type lease struct {
	owner   string
	expires int64 // Unix milliseconds, as the table keeps it
	token   int64
}

type triageItem struct {
	it    domain.TriageItem
	facts string // JSON, as the table keeps it
}

// lock takes the mutex unless ctx is done: a call on a cancelled context
// fails as the SDK's does.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		e := domain.Errorf(domain.EINTERNAL, "in-memory store: context done")
		e.Err = err
		return e
	}
	s.mu.Lock()
	return nil
}

// now is the clock, truncated to microseconds as the table's times are.
func (s *Store) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// expiry is when an item that became terminal at t is deleted (Batch.ExpiresAt).
func (s *Store) expiry(t time.Time) time.Time {
	if s.opt.Retention > 0 {
		return time.Unix(t.Add(s.opt.Retention).Unix(), 0).UTC()
	}
	return time.Unix(t.AddDate(0, 12, 0).Unix(), 0).UTC()
}

func k(parts ...string) string { return strings.Join(parts, "|") }

// keyTime is the table's fixed-width time in keys: it orders events and lists.
const keyTime = domain.CursorTime

// cursorRE is a listing's cursor (domain.ListCursor).
var cursorRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#[a-z2-7]{26}$`)

func checkCursor(c string) error {
	if !cursorRE.MatchString(c) {
		return domain.Errorf(domain.EINVALID, "cursor %q: not one a listing gave", c)
	}
	return nil
}

func created(t time.Time, id string) string { return t.UTC().Format(keyTime) + "#" + id }

// The input checks of the DynamoDB store, with the same codes.
var (
	codeRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	sha256RE   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexSHARE   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	registryRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,16}$`)
)

func checkCode(what, v string) error {
	if !codeRE.MatchString(v) {
		return domain.Errorf(domain.EINVALID, "%s %q: want 1-64 letters, digits, '_', '.' or '-'", what, v)
	}
	return nil
}

func checkID(what, v string) error {
	if !domain.ValidID(v) {
		return domain.Errorf(domain.EINVALID, "%s id %q: not an id made by domain.NewID", what, v)
	}
	return nil
}

func checkCause(c domain.Cause) error {
	if !c.Valid() {
		return domain.Errorf(domain.EINVALID, "cause %q: want s3:, pec:, schedule: or user: followed by a value", c)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// normReason is a reason as the table gives it back: a detail without a
// code reads as ReasonOther.
func normReason(r domain.Reason) domain.Reason {
	if r.Code == "" && r.Detail != "" {
		r.Code = domain.ReasonOther
	}
	return r
}

// hash16 is the short digest that tells apart events of the same time.
func hash16(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

var triageIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// triageID is the id of the triage item of the message stored at key, as
// the DynamoDB store derives it.
func triageID(tenant, messageKey string) string {
	sum := sha256.Sum256([]byte("triage|" + tenant + "|" + messageKey))
	return triageIDEncoding.EncodeToString(sum[:16])
}

// roundTrip copies v through JSON, as the table stores people, certificates
// and triage facts: the copy shares nothing with v.
func roundTrip[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("memstore: encoding %T: %v", v, err))
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("memstore: decoding %T: %v", v, err))
	}
	return out
}

func copyUpload(u domain.Upload) domain.Upload {
	if u.Protocol != nil {
		p := *u.Protocol
		u.Protocol = &p
	}
	return u
}

func copySubject(s domain.Subject) domain.Subject {
	if s.Certificate != nil {
		c := *s.Certificate
		s.Certificate = &c
	}
	if s.Candidates != nil {
		s.Candidates = append([]domain.Certificate(nil), s.Candidates...)
	}
	return s
}

func copyBatch(b domain.Batch) domain.Batch {
	b.People = append([]string{}, b.People...)
	return b
}

// fileEvent stores e once: its key is derived from its content, as the
// table's is.
func (s *Store) fileEvent(e domain.Event) {
	e.At = e.At.UTC().Truncate(time.Microsecond)
	key := e.At.Format(keyTime) + "#" + hash16(e.About, e.State, e.Detail, string(e.Cause))
	m := s.events[k(e.Tenant, e.Subject)]
	if m == nil {
		m = map[string]evEntry{}
		s.events[k(e.Tenant, e.Subject)] = m
	}
	if _, ok := m[key]; !ok {
		m[key] = evEntry{e: e, key: key}
	}
}
