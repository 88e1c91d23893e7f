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

// maxBatchPeople is the DynamoDB store's bound on a batch (store.MaxBatchPeople).
const maxBatchPeople = 5000

// CreateBatch stores a new queued batch (see domain.BatchStore).
func (s *Store) CreateBatch(ctx context.Context, b domain.Batch, cause domain.Cause) (domain.Batch, error) {
	if err := firstErr(checkCode("tenant", b.Tenant), checkCode("office", b.Office), checkID("batch", b.ID), checkCause(cause)); err != nil {
		return domain.Batch{}, err
	}
	if len(b.People) == 0 || len(b.People) > maxBatchPeople {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "batch %s: 1 to %d people, not %d", b.ID, maxBatchPeople, len(b.People))
	}
	for _, id := range b.People {
		if _, _, err := domain.ParseSubjectID(id); err != nil {
			return domain.Batch{}, err
		}
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	if cur, ok := s.batches[k(b.Tenant, b.ID)]; ok {
		// The same batch again; ClaimSubjects may have dropped some people since.
		if cur.b.Office != b.Office || slices.ContainsFunc(cur.b.People, func(id string) bool { return !slices.Contains(b.People, id) }) {
			return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s exists already", b.ID)
		}
		s.fileBatchEvent(cur)
		return copyBatch(cur.b), nil
	}
	now := s.now()
	r := &batch{b: domain.Batch{ID: b.ID, Tenant: b.Tenant, Office: b.Office, State: domain.BatchQueued, People: slices.Clone(b.People),
		CreatedAt: now, UpdatedAt: now, Version: 1}, cause: cause, detail: fmt.Sprintf("queued with %d people", len(b.People))}
	s.batches[k(b.Tenant, b.ID)] = r
	s.fileBatchEvent(r)
	return copyBatch(r.b), nil
}

// fileBatchEvent (re-)files the event of the last state change of a batch.
func (s *Store) fileBatchEvent(r *batch) {
	s.fileEvent(domain.Event{Tenant: r.b.Tenant, Subject: r.b.ID, At: r.b.UpdatedAt, State: string(r.b.State), Detail: r.detail, Cause: r.cause})
}

// GetBatch returns a batch by id.
func (s *Store) GetBatch(ctx context.Context, tenant, id string) (domain.Batch, error) {
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return domain.Batch{}, err
	}
	return copyBatch(r.b), nil
}

func (s *Store) getBatch(tenant, id string) (*batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if !domain.ValidID(id) {
		return nil, domain.Errorf(domain.ENOTFOUND, "batch %q not found", id)
	}
	r, ok := s.batches[k(tenant, id)]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "batch %s not found", id)
	}
	return r, nil
}

// ListBatches returns batches newest first, of an office or of the tenant.
func (s *Store) ListBatches(ctx context.Context, tenant, office string, states []domain.BatchState, limit int) ([]domain.Batch, error) {
	return s.batchesBefore(ctx, tenant, office, "", states, limit)
}

// BatchesBefore returns the batches of an office or tenant created before cursor, newest first.
func (s *Store) BatchesBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Batch, error) {
	if err := checkCursor(cursor); err != nil {
		return nil, err
	}
	return s.batchesBefore(ctx, tenant, office, cursor, nil, limit)
}

func (s *Store) batchesBefore(ctx context.Context, tenant, office, cursor string, states []domain.BatchState, limit int) ([]domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if office != "" {
		if err := checkCode("office", office); err != nil {
			return nil, err
		}
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var all []*batch
	for _, r := range s.batches {
		if r.b.Tenant == tenant && (office == "" || r.b.Office == office) && (len(states) == 0 || slices.Contains(states, r.b.State)) &&
			(cursor == "" || created(r.b.CreatedAt, r.b.ID) < cursor) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b *batch) int {
		return strings.Compare(created(b.b.CreatedAt, b.b.ID), created(a.b.CreatedAt, a.b.ID))
	})
	var out []domain.Batch
	for _, r := range all {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, copyBatch(r.b))
	}
	return out, nil
}

// BatchesCreated returns a tenant's batches created in [from, to), oldest first.
func (s *Store) BatchesCreated(ctx context.Context, tenant string, from, to time.Time) ([]domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, domain.Errorf(domain.EINVALID, "batches created from %s to %s: an empty span", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	lo, hi := from.UTC().Format(keyTime), to.UTC().Format(keyTime)
	var all []*batch
	for _, r := range s.batches {
		// As the table's index: "<to>" sorts before "<to>#<id>", so a batch created at to itself is left out.
		if c := created(r.b.CreatedAt, r.b.ID); r.b.Tenant == tenant && c >= lo && c <= hi {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b *batch) int {
		return strings.Compare(created(a.b.CreatedAt, a.b.ID), created(b.b.CreatedAt, b.b.ID))
	})
	out := make([]domain.Batch, 0, len(all))
	for _, r := range all {
		out = append(out, copyBatch(r.b))
	}
	return out, nil
}

// ClaimSubjects moves the pending subjects listed by a queued batch to batched
// and drops from the batch those it could not claim.
func (s *Store) ClaimSubjects(ctx context.Context, tenant, id string, cause domain.Cause) ([]string, error) {
	if err := checkCause(cause); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return nil, err
	}
	if r.b.State != domain.BatchQueued {
		return nil, domain.Errorf(domain.ECONFLICT, "batch %s is %s: subjects are claimed only while queued", id, r.b.State)
	}
	var kept, gone []string
	for _, p := range r.b.People {
		_, err := s.advanceSubject(domain.SubjectChange{Tenant: tenant, ID: p, To: domain.PersonBatched, Batch: id, Cause: cause})
		switch domain.ErrorCode(err) {
		case "":
			kept = append(kept, p)
		case domain.ECONFLICT, domain.ENOTFOUND:
			gone = append(gone, p)
		default:
			return nil, err
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	// Keep the batch's list truthful: only the people it really holds.
	r.b.People, r.b.Version = kept, r.b.Version+1
	return gone, nil
}

// SubjectsOfBatch returns the subjects a batch lists, in its order.
func (s *Store) SubjectsOfBatch(ctx context.Context, tenant, id string) ([]domain.Subject, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Subject, 0, len(r.b.People))
	for _, p := range r.b.People {
		if sub, err := s.getSubject(tenant, p); err == nil {
			out = append(out, copySubject(sub.s))
		}
	}
	return out, nil
}

// AdvanceBatch applies a state change to a batch (see domain.BatchStore).
func (s *Store) AdvanceBatch(ctx context.Context, c domain.BatchChange) (domain.Batch, error) {
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	return s.advanceBatch(c)
}

func (s *Store) advanceBatch(c domain.BatchChange) (domain.Batch, error) {
	if err := checkCause(c.Cause); err != nil {
		return domain.Batch{}, err
	}
	if err := c.Check(); err != nil {
		return domain.Batch{}, err
	}
	r, err := s.getBatch(c.Tenant, c.ID)
	if err != nil {
		return domain.Batch{}, err
	}
	b := &r.b
	if b.State == c.To {
		if (c.Protocol.Number != "" && c.Protocol.Number != b.Protocol.Number) || (c.MessageID != "" && c.MessageID != b.MessageID) {
			return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s already, with another protocol or Message-ID", c.ID, c.To)
		}
		s.fileBatchEvent(r) // a re-run
		return copyBatch(*b), nil
	}
	if err := c.CheckAgainst(b.State, b.Version, b.Protocol.Number, b.MessageID); err != nil {
		return domain.Batch{}, err
	}
	now := s.now()
	detail := c.EventDetail()
	b.State, b.UpdatedAt, b.Version = c.To, now, b.Version+1
	r.cause, r.detail = c.Cause, detail
	if c.Protocol.Number != "" {
		b.Protocol.Number, b.Protocol.Date = c.Protocol.Number, c.Protocol.Date
		if c.Protocol.Register != "" {
			b.Protocol.Register = c.Protocol.Register
		}
	}
	if c.MessageID != "" {
		b.MessageID = c.MessageID
	}
	if !c.Reason.IsZero() {
		b.Reason = normReason(c.Reason)
	}
	if c.To.Terminal() {
		b.ExpiresAt = s.expiry(now)
	}
	if c.MessageID != "" {
		// As in the table, the batch is changed before its Message-ID is indexed.
		if err := s.indexMessageID(c.Tenant, c.ID, c.MessageID); err != nil {
			return domain.Batch{}, err
		}
	}
	s.fileBatchEvent(r)
	return copyBatch(*b), nil
}

// indexMessageID records that msgID belongs to batch; ECONFLICT when it
// belongs to another.
func (s *Store) indexMessageID(tenant, batch, msgID string) error {
	if cur, ok := s.msgIndex[k(tenant, msgID)]; ok && cur != batch {
		return domain.Errorf(domain.ECONFLICT, "Message-ID %s belongs to another batch", msgID)
	}
	s.msgIndex[k(tenant, msgID)] = batch
	return nil
}

// SetMessageID records and indexes the outgoing Message-ID of a batch.
func (s *Store) SetMessageID(ctx context.Context, tenant, id, msgID string) (domain.Batch, error) {
	if !domain.ValidMessageID(msgID) {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "message id %q: want <local@domain>", msgID)
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return domain.Batch{}, err
	}
	if r.b.MessageID != "" && r.b.MessageID != msgID {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s has Message-ID %s already", id, r.b.MessageID)
	}
	if r.b.State.Terminal() {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s", id, r.b.State)
	}
	if err := s.indexMessageID(tenant, id, msgID); err != nil {
		return domain.Batch{}, err
	}
	if r.b.MessageID != msgID {
		r.b.MessageID, r.b.Version = msgID, r.b.Version+1
	}
	return copyBatch(r.b), nil
}

// BatchByMessageID returns the batch an outgoing Message-ID belongs to.
func (s *Store) BatchByMessageID(ctx context.Context, tenant, msgID string) (domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.Batch{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.msgIndex[k(tenant, msgID)]
	if !ok {
		return domain.Batch{}, domain.Errorf(domain.ENOTFOUND, "no batch sent with Message-ID %s", msgID)
	}
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return domain.Batch{}, err
	}
	return copyBatch(r.b), nil
}

// RecordSendAttempt notes that a submission of a protocolled batch starts
// now; a zero time clears the note (the submission certainly did not leave).
func (s *Store) RecordSendAttempt(ctx context.Context, tenant, id string, at time.Time) (domain.Batch, error) {
	if err := firstErr(checkCode("tenant", tenant), checkID("batch", id)); err != nil {
		return domain.Batch{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	r, ok := s.batches[k(tenant, id)]
	if !ok || r.b.State != domain.BatchProtocolled || r.b.MessageID == "" {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is not protocolled with a Message-ID: no submission to record", id)
	}
	if at.IsZero() {
		r.b.LastSendAttempt = time.Time{}
	} else {
		r.b.SendAttempts, r.b.LastSendAttempt = r.b.SendAttempts+1, at.UTC()
	}
	r.b.Version++
	return copyBatch(r.b), nil
}

// maxClaimAttempts is the DynamoDB store's bound on the walk over taken numbers.
const maxClaimAttempts = 10000

// RegisterProtocol registers a queued batch in the built-in protocol register
// and moves it to protocolled.
func (s *Store) RegisterProtocol(ctx context.Context, req domain.ProtocolRequest) (domain.Batch, error) {
	if err := checkCode("AOO", req.AOO); err != nil {
		return domain.Batch{}, err
	}
	if !registryRE.MatchString(req.Registry) {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "registry code %q: want 1-16 letters, digits, '_', '.' or '-'", req.Registry)
	}
	if req.Date.IsZero() {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "protocol registration of batch %s: a date is required", req.Batch)
	}
	if err := checkCause(req.Cause); err != nil {
		return domain.Batch{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getBatch(req.Tenant, req.Batch)
	if err != nil {
		return domain.Batch{}, err
	}
	if r.b.Protocol.Number != "" {
		return copyBatch(r.b), nil // registered already
	}
	if r.b.State != domain.BatchQueued {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s: only queued batches are registered", req.Batch, r.b.State)
	}
	rk := k(req.Tenant, req.AOO, req.Registry, strconv.Itoa(req.Date.Year))
	reg := s.register[rk]
	if reg == nil {
		reg = &register{entries: map[int64]string{}}
		s.register[rk] = reg
	}
	n := reg.counter + 1
	for tries := 0; reg.entries[n] != ""; n, tries = n+1, tries+1 {
		if tries >= maxClaimAttempts {
			return domain.Batch{}, domain.Errorf(domain.EINTERNAL, "protocol register %s: no free number after %d attempts", rk, maxClaimAttempts)
		}
	}
	reg.entries[n], reg.counter = req.Batch, max(reg.counter, n)
	p := domain.Protocol{Number: domain.FormatProtocolNumber(n), Date: req.Date, Register: req.Registry}
	return s.advanceBatch(domain.BatchChange{Tenant: req.Tenant, ID: req.Batch, From: domain.BatchQueued, To: domain.BatchProtocolled,
		Protocol: p, Cause: req.Cause})
}

// BatchByProtocol returns the batch registered with number in the built-in
// register of tenant, AOO, registry and year.
func (s *Store) BatchByProtocol(ctx context.Context, tenant, aoo, registry string, year int, number string) (domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.Batch{}, err
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil || n <= 0 {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "protocol number %q: want digits", number)
	}
	if err := s.lock(ctx); err != nil {
		return domain.Batch{}, err
	}
	defer s.mu.Unlock()
	var id string
	if reg := s.register[k(tenant, aoo, registry, strconv.Itoa(year))]; reg != nil {
		id = reg.entries[n]
	}
	if id == "" {
		return domain.Batch{}, domain.Errorf(domain.ENOTFOUND, "no batch registered as %s of %d", domain.FormatProtocolNumber(n), year)
	}
	r, err := s.getBatch(tenant, id)
	if err != nil {
		return domain.Batch{}, err
	}
	return copyBatch(r.b), nil
}
