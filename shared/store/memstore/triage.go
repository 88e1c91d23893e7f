package memstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// item returns a copy of a stored triage item, its facts decoded afresh.
func (r *triageItem) item() domain.TriageItem {
	it := r.it
	it.Facts = domain.TriageFacts{}
	_ = json.Unmarshal([]byte(r.facts), &it.Facts) // written by us
	return it
}

// CreateTriage stores a new open triage item, once per message key.
func (s *Store) CreateTriage(ctx context.Context, t domain.TriageItem) (domain.TriageItem, bool, error) {
	if err := checkCode("tenant", t.Tenant); err != nil {
		return domain.TriageItem{}, false, err
	}
	if t.MessageKey == "" || !t.Reason.Code.Known() {
		return domain.TriageItem{}, false, domain.Errorf(domain.EINVALID, "triage: a message key and a known reason code are required")
	}
	if t.Cause != "" {
		if err := checkCause(t.Cause); err != nil {
			return domain.TriageItem{}, false, err
		}
	}
	facts, err := json.Marshal(t.Facts)
	if err != nil {
		e := domain.Errorf(domain.EINTERNAL, "encoding triage facts")
		e.Err = err
		return domain.TriageItem{}, false, e
	}
	if err := s.lock(ctx); err != nil {
		return domain.TriageItem{}, false, err
	}
	defer s.mu.Unlock()
	id := triageID(t.Tenant, t.MessageKey)
	if cur, ok := s.triage[k(t.Tenant, id)]; ok {
		return cur.item(), false, nil
	}
	at := t.CreatedAt
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	r := &triageItem{facts: string(facts), it: domain.TriageItem{ID: id, Tenant: t.Tenant, Mailbox: strings.ToLower(t.Mailbox),
		MessageKey: t.MessageKey, MessageID: t.MessageID, Kind: t.Kind, Reason: normReason(t.Reason), CreatedAt: at,
		State: domain.TriageOpen, UpdatedAt: at, Cause: t.Cause, Version: 1}}
	s.triage[k(t.Tenant, id)] = r
	return r.item(), true, nil
}

// GetTriage returns a triage item.
func (s *Store) GetTriage(ctx context.Context, tenant, id string) (domain.TriageItem, error) {
	if err := s.lock(ctx); err != nil {
		return domain.TriageItem{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getTriage(tenant, id)
	if err != nil {
		return domain.TriageItem{}, err
	}
	return r.item(), nil
}

func (s *Store) getTriage(tenant, id string) (*triageItem, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if !domain.ValidID(id) {
		return nil, domain.Errorf(domain.ENOTFOUND, "triage item %q not found", id)
	}
	r, ok := s.triage[k(tenant, id)]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "triage item %s not found", id)
	}
	return r, nil
}

// ListTriage returns the triage items of a tenant newest first.
func (s *Store) ListTriage(ctx context.Context, tenant string, state domain.TriageState, limit int) ([]domain.TriageItem, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if state != "" && !state.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "triage state %q: want open, assigned or dismissed", state)
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var all []*triageItem
	for _, r := range s.triage {
		if r.it.Tenant == tenant && (state == "" || r.it.State == state) {
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b *triageItem) int {
		return strings.Compare(created(b.it.CreatedAt, b.it.ID), created(a.it.CreatedAt, a.it.ID))
	})
	var out []domain.TriageItem
	for _, r := range all {
		if limit > 0 && len(out) >= limit {
			break
		}
		out = append(out, r.item())
	}
	return out, nil
}

// AssignTriage records the batch a triage item's message belongs to.
func (s *Store) AssignTriage(ctx context.Context, tenant, id, batch, note string, cause domain.Cause) (domain.TriageItem, error) {
	if err := firstErr(checkCause(cause), checkID("batch", batch)); err != nil {
		return domain.TriageItem{}, err
	}
	if err := s.lock(ctx); err != nil {
		return domain.TriageItem{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getTriage(tenant, id)
	if err != nil {
		return domain.TriageItem{}, err
	}
	if _, err := s.getBatch(tenant, batch); err != nil {
		return domain.TriageItem{}, err
	}
	if r.it.State == domain.TriageAssigned && r.it.Batch == batch && (note == "" || note == r.it.Note) {
		return r.item(), nil
	}
	return s.closeTriage(r, domain.TriageAssigned, batch, note, cause)
}

// DismissTriage closes a triage item with a reason.
func (s *Store) DismissTriage(ctx context.Context, tenant, id, reason string, cause domain.Cause) (domain.TriageItem, error) {
	if err := checkCause(cause); err != nil {
		return domain.TriageItem{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return domain.TriageItem{}, domain.Errorf(domain.EINVALID, "triage item %s: a reason is required to dismiss it", id)
	}
	if err := s.lock(ctx); err != nil {
		return domain.TriageItem{}, err
	}
	defer s.mu.Unlock()
	r, err := s.getTriage(tenant, id)
	if err != nil {
		return domain.TriageItem{}, err
	}
	if r.it.State == domain.TriageDismissed {
		return r.item(), nil
	}
	return s.closeTriage(r, domain.TriageDismissed, r.it.Batch, reason, cause)
}

func (s *Store) closeTriage(r *triageItem, to domain.TriageState, batch, note string, cause domain.Cause) (domain.TriageItem, error) {
	if r.it.State == domain.TriageDismissed {
		return domain.TriageItem{}, domain.Errorf(domain.ECONFLICT, "triage item %s is dismissed", r.it.ID)
	}
	r.it.State, r.it.Note, r.it.UpdatedAt, r.it.Cause, r.it.Version = to, note, s.now(), cause, r.it.Version+1
	if batch != "" {
		r.it.Batch = batch
	}
	return r.item(), nil
}

// MessageSeen reports whether a message was handled already, by content or Message-ID.
func (s *Store) MessageSeen(ctx context.Context, tenant, sha, msgID string) (bool, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return false, err
	}
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	if hexSHARE.MatchString(sha) && s.seen[k(tenant, "S", strings.ToLower(sha))] {
		return true, nil
	}
	return msgID != "" && s.seen[k(tenant, "I", msgID)], nil
}

// MarkMessageSeen records a handled message by content and by Message-ID.
func (s *Store) MarkMessageSeen(ctx context.Context, tenant, sha, msgID, key string, at time.Time) error {
	if err := checkCode("tenant", tenant); err != nil {
		return err
	}
	if !hexSHARE.MatchString(sha) {
		return domain.Errorf(domain.EINVALID, "seen message: %q is not a hex SHA-256", sha)
	}
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.seen[k(tenant, "S", strings.ToLower(sha))] = true
	if msgID != "" {
		s.seen[k(tenant, "I", msgID)] = true
	}
	return nil
}
