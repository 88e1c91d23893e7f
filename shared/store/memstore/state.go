package memstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// AppendEvent files a note under an upload or batch (see domain.EventStore).
func (s *Store) AppendEvent(ctx context.Context, e domain.Event) error {
	if err := firstErr(checkCode("tenant", e.Tenant), checkID("subject", e.Subject), checkCause(e.Cause)); err != nil {
		return err
	}
	if e.At.IsZero() || e.State == "" {
		return domain.Errorf(domain.EINVALID, "event: at and state are required")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.fileEvent(e)
	return nil
}

// Events returns the events of an upload or batch in time order (events of
// the same time in the table's key order).
func (s *Store) Events(ctx context.Context, tenant, subject string) ([]domain.Event, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	m := s.events[k(tenant, subject)]
	all := make([]evEntry, 0, len(m))
	for _, e := range m {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b evEntry) int { return strings.Compare(a.key, b.key) })
	var out []domain.Event
	for _, e := range all {
		out = append(out, e.e)
	}
	return out, nil
}

// AddCandidate keeps a further certificate for a certified subject.
func (s *Store) AddCandidate(ctx context.Context, tenant, id string, c domain.Certificate, cause domain.Cause) (domain.Subject, error) {
	if err := checkCause(cause); err != nil {
		return domain.Subject{}, err
	}
	if c.Key == "" || !sha256RE.MatchString(c.SHA256) {
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a candidate certificate needs a key and a SHA-256", id)
	}
	if err := s.lock(ctx); err != nil {
		return domain.Subject{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getSubject(tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	if r.s.State != domain.PersonCertified || r.s.Certificate == nil {
		return copySubject(r.s), domain.Errorf(domain.ECONFLICT, "subject %s is %s: candidates are kept for certified people only", id, r.s.State)
	}
	if r.s.Certificate.SHA256 == c.SHA256 || slices.ContainsFunc(r.s.Candidates, func(x domain.Certificate) bool { return x.SHA256 == c.SHA256 }) {
		return copySubject(r.s), nil // known already
	}
	cands := append(slices.Clone(r.s.Candidates), roundTrip(c))
	detail := fmt.Sprintf("row %d: another certificate received (%s, SHA-256 %.12s), different from the one that stands: kept as a candidate", r.s.Row, c.Outcome, c.SHA256)
	return s.rewriteCertificates(r, *r.s.Certificate, cands, domain.NoteCandidate, detail, cause), nil
}

// ChooseCertificate makes the certificate with SHA-256 sha the one that stands.
func (s *Store) ChooseCertificate(ctx context.Context, tenant, id, sha, note string, cause domain.Cause) (domain.Subject, error) {
	if err := checkCause(cause); err != nil {
		return domain.Subject{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Subject{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getSubject(tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	sub := r.s
	if sub.State != domain.PersonCertified || sub.Certificate == nil {
		return copySubject(sub), domain.Errorf(domain.ECONFLICT, "subject %s is %s: no certificate to choose", id, sub.State)
	}
	if sub.Certificate.SHA256 == sha {
		return copySubject(sub), nil
	}
	i := slices.IndexFunc(sub.Candidates, func(x domain.Certificate) bool { return x.SHA256 == sha })
	if i < 0 {
		return copySubject(sub), domain.Errorf(domain.ENOTFOUND, "subject %s has no certificate with SHA-256 %s", id, sha)
	}
	chosen := sub.Candidates[i]
	cands := slices.Clone(sub.Candidates)
	cands[i] = *sub.Certificate // the one set aside stays, as a candidate
	detail := fmt.Sprintf("row %d: certificate SHA-256 %.12s (%s) chosen to stand instead of %.12s", sub.Row, chosen.SHA256, chosen.Outcome, sub.Certificate.SHA256)
	if note != "" {
		detail += ": " + note
	}
	return s.rewriteCertificates(r, chosen, cands, domain.NoteChosen, detail, cause), nil
}

// rewriteCertificates stores the standing certificate and the candidates of
// a subject and files the event.
func (s *Store) rewriteCertificates(r *subject, cert domain.Certificate, cands []domain.Certificate, note domain.NoteCode, detail string, cause domain.Cause) domain.Subject {
	now := s.now()
	r.s.Certificate, r.s.Candidates = &cert, cands
	r.s.Version, r.s.UpdatedAt = r.s.Version+1, now
	s.fileEvent(domain.Event{Tenant: r.s.Tenant, Subject: r.s.Upload, About: r.s.ID, At: now, State: string(r.s.State), Note: note, Detail: detail, Cause: cause})
	return copySubject(r.s)
}

func checkLease(tenant, name, owner string, ttl time.Duration) error {
	if err := checkCode("tenant", tenant); err != nil {
		return err
	}
	if name == "" || owner == "" || ttl <= 0 {
		return domain.Errorf(domain.EINVALID, "lease: a name, an owner and a positive duration are required")
	}
	return nil
}

// AcquireLease takes a lease if free, expired or already the owner's.
func (s *Store) AcquireLease(ctx context.Context, tenant, name, owner string, ttl time.Duration) (domain.Lease, error) {
	if err := checkLease(tenant, name, owner, ttl); err != nil {
		return domain.Lease{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Lease{}, err
	}
	defer s.mu.Unlock()
	now := s.now()
	l := s.leases[k(tenant, name)]
	if l != nil && l.expires >= now.UnixMilli() && l.owner != owner {
		return domain.Lease{}, domain.Errorf(domain.ECONFLICT, "lease %s is held by someone else", name)
	}
	if l == nil {
		l = &lease{}
		s.leases[k(tenant, name)] = l
	}
	l.owner, l.expires, l.token = owner, now.Add(ttl).UnixMilli(), l.token+1
	return domain.Lease{Tenant: tenant, Name: name, Owner: owner, Expires: time.UnixMilli(l.expires).UTC(), Token: l.token}, nil
}

// RenewLease extends a lease still held with the same token.
func (s *Store) RenewLease(ctx context.Context, l domain.Lease, ttl time.Duration) (domain.Lease, error) {
	if err := checkLease(l.Tenant, l.Name, l.Owner, ttl); err != nil {
		return domain.Lease{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Lease{}, err
	}
	defer s.mu.Unlock()
	cur := s.leases[k(l.Tenant, l.Name)]
	if cur == nil || cur.owner != l.Owner || cur.token != l.Token {
		return domain.Lease{}, domain.Errorf(domain.ECONFLICT, "lease %s was lost: taken by someone else or released", l.Name)
	}
	cur.expires = s.now().Add(ttl).UnixMilli()
	l.Expires = time.UnixMilli(cur.expires).UTC()
	return l, nil
}

// ReleaseLease frees a lease held by l.Owner with l.Token.
func (s *Store) ReleaseLease(ctx context.Context, l domain.Lease) error {
	if err := checkCode("tenant", l.Tenant); err != nil {
		return err
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if cur := s.leases[k(l.Tenant, l.Name)]; cur != nil && cur.owner == l.Owner && cur.token == l.Token {
		delete(s.leases, k(l.Tenant, l.Name))
	}
	return nil // not ours any more: nothing to release
}

// Cursor returns the stored cursor of a mailbox.
func (s *Store) Cursor(ctx context.Context, tenant, mailbox string) (domain.MailboxCursor, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.MailboxCursor{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.MailboxCursor{}, err
	}
	defer s.mu.Unlock()
	if c, ok := s.cursors[k(tenant, strings.ToLower(mailbox))]; ok {
		return c, nil
	}
	return domain.MailboxCursor{Tenant: tenant, Mailbox: strings.ToLower(mailbox)}, nil
}

// SaveCursor stores c if nobody saved since c was read; within one
// UIDVALIDITY the last UID never goes back.
func (s *Store) SaveCursor(ctx context.Context, c domain.MailboxCursor) (domain.MailboxCursor, error) {
	if err := checkCode("tenant", c.Tenant); err != nil {
		return c, err
	}
	if c.Mailbox == "" || c.UIDValidity == 0 {
		return c, domain.Errorf(domain.EINVALID, "mailbox cursor: a mailbox and a UIDVALIDITY are required")
	}
	if err := s.lock(ctx); err != nil {
		return c, err
	}
	defer s.mu.Unlock()
	key := k(c.Tenant, strings.ToLower(c.Mailbox))
	cur, ok := s.cursors[key]
	if c.Version == 0 && ok || c.Version != 0 && (!ok || cur.Version != c.Version || cur.UIDValidity == c.UIDValidity && c.LastUID < cur.LastUID) {
		return c, domain.Errorf(domain.ECONFLICT, "cursor of mailbox %s changed meanwhile, or would go back", c.Mailbox)
	}
	c.Mailbox, c.UpdatedAt, c.Version = strings.ToLower(c.Mailbox), s.now(), c.Version+1
	s.cursors[key] = c
	return c, nil
}

func checkAttempt(a domain.AttemptKey) error {
	if err := checkCode("tenant", a.Tenant); err != nil {
		return err
	}
	if a.Mailbox == "" || a.UIDValidity == 0 || a.UID == 0 {
		return domain.Errorf(domain.EINVALID, "message attempt: a mailbox, a UIDVALIDITY and a UID are required")
	}
	return nil
}

func attemptKey(a domain.AttemptKey) string {
	return k(a.Tenant, strings.ToLower(a.Mailbox), strconv.FormatUint(uint64(a.UIDValidity), 10), strconv.FormatUint(uint64(a.UID), 10))
}

// BeginAttempt counts one more attempt at a mailbox message.
func (s *Store) BeginAttempt(ctx context.Context, a domain.AttemptKey) (domain.MessageAttempts, error) {
	if err := checkAttempt(a); err != nil {
		return domain.MessageAttempts{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.MessageAttempts{}, err
	}
	defer s.mu.Unlock()
	r := s.attempts[attemptKey(a)]
	if r == nil {
		r = &domain.MessageAttempts{}
		s.attempts[attemptKey(a)] = r
	}
	r.Count++
	return *r, nil
}

// FailAttempt records why the last attempt at a mailbox message failed.
func (s *Store) FailAttempt(ctx context.Context, a domain.AttemptKey, failure string) error {
	if err := checkAttempt(a); err != nil {
		return err
	}
	if len(failure) > 1000 {
		failure = strings.ToValidUTF8(failure[:1000], "")
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	r := s.attempts[attemptKey(a)]
	if r == nil {
		r = &domain.MessageAttempts{}
		s.attempts[attemptKey(a)] = r
	}
	r.LastFailure = failure
	return nil
}
