package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// AddCandidate keeps a further certificate for a certified subject.
func (s *Dynamo) AddCandidate(ctx context.Context, tenant, id string, c domain.Certificate, cause domain.Cause) (domain.Subject, error) {
	if err := checkCause(cause); err != nil {
		return domain.Subject{}, err
	}
	if c.Key == "" || !sha256RE.MatchString(c.SHA256) {
		return domain.Subject{}, domain.Errorf(domain.EINVALID, "subject %s: a candidate certificate needs a key and a SHA-256", id)
	}
	it, err := s.getSubject(ctx, tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	sub, err := it.domain()
	if err != nil {
		return sub, err
	}
	if sub.State != domain.PersonCertified || sub.Certificate == nil {
		return sub, domain.Errorf(domain.ECONFLICT, "subject %s is %s: candidates are kept for certified people only", id, sub.State)
	}
	if sub.Certificate.SHA256 == c.SHA256 || slices.ContainsFunc(sub.Candidates, func(x domain.Certificate) bool { return x.SHA256 == c.SHA256 }) {
		return sub, nil // known already
	}
	cands := append(slices.Clone(sub.Candidates), c)
	detail := fmt.Sprintf("row %d: another certificate received (%s, SHA-256 %.12s), different from the one that stands: kept as a candidate", it.Row, c.Outcome, c.SHA256)
	return s.rewriteCertificates(ctx, it, *sub.Certificate, cands, domain.NoteCandidate, detail, cause)
}

// ChooseCertificate makes the certificate with SHA-256 sha the one that stands.
func (s *Dynamo) ChooseCertificate(ctx context.Context, tenant, id, sha, note string, cause domain.Cause) (domain.Subject, error) {
	if err := checkCause(cause); err != nil {
		return domain.Subject{}, err
	}
	it, err := s.getSubject(ctx, tenant, id)
	if err != nil {
		return domain.Subject{}, err
	}
	sub, err := it.domain()
	if err != nil {
		return sub, err
	}
	if sub.State != domain.PersonCertified || sub.Certificate == nil {
		return sub, domain.Errorf(domain.ECONFLICT, "subject %s is %s: no certificate to choose", id, sub.State)
	}
	if sub.Certificate.SHA256 == sha {
		return sub, nil
	}
	i := slices.IndexFunc(sub.Candidates, func(x domain.Certificate) bool { return x.SHA256 == sha })
	if i < 0 {
		return sub, domain.Errorf(domain.ENOTFOUND, "subject %s has no certificate with SHA-256 %s", id, sha)
	}
	chosen := sub.Candidates[i]
	cands := slices.Clone(sub.Candidates)
	cands[i] = *sub.Certificate // the one set aside stays, as a candidate
	detail := fmt.Sprintf("row %d: certificate SHA-256 %.12s (%s) chosen to stand instead of %.12s", it.Row, chosen.SHA256, chosen.Outcome, sub.Certificate.SHA256)
	if note != "" {
		detail += ": " + note
	}
	return s.rewriteCertificates(ctx, it, chosen, cands, domain.NoteChosen, detail, cause)
}

// rewriteCertificates stores the standing certificate and the candidates
// of a subject (conditional on its version) and files the event.
func (s *Dynamo) rewriteCertificates(ctx context.Context, it subjectItem, cert domain.Certificate, cands []domain.Certificate, note domain.NoteCode, detail string, cause domain.Cause) (domain.Subject, error) {
	cb, _ := json.Marshal(cert)
	lb, _ := json.Marshal(cands)
	now := s.now()
	var out subjectItem
	ok, err := s.update(ctx, update{pk: it.PK, sk: it.SK,
		expr:   "SET certificate = :c, candidates = :l, ver = ver + :one, updated_at = :now",
		cond:   "ver = :ver",
		values: map[string]types.AttributeValue{":c": str(string(cb)), ":l": str(string(lb)), ":one": num(1), ":now": str(now.Format(time.RFC3339Nano)), ":ver": num(it.Ver)},
	}, &out)
	if err != nil {
		return domain.Subject{}, err
	}
	if !ok {
		return domain.Subject{}, domain.Errorf(domain.ECONFLICT, "subject %s changed meanwhile; read it again", domain.SubjectID(it.Upload, it.Row))
	}
	sub, err := out.domain()
	if err != nil {
		return sub, err
	}
	return sub, s.fileEvent(ctx, domain.Event{Tenant: it.Tenant, Subject: it.Upload, About: sub.ID, At: now, State: it.State,
		Note: note, Detail: detail, Cause: cause}, it.TTL)
}
