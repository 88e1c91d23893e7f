package store

import (
	"context"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// registryRE is AgID's CodiceRegistro.
var registryRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,16}$`)

// maxClaimAttempts bounds the walk over numbers taken by concurrent claimers.
const maxClaimAttempts = 10000

// RegisterProtocol registers a queued batch in the built-in protocol register
// (see the package doc) and moves it to protocolled.
func (s *Dynamo) RegisterProtocol(ctx context.Context, r domain.ProtocolRequest) (domain.Batch, error) {
	if err := checkCode("AOO", r.AOO); err != nil {
		return domain.Batch{}, err
	}
	if !registryRE.MatchString(r.Registry) {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "registry code %q: want 1-16 letters, digits, '_', '.' or '-'", r.Registry)
	}
	if r.Date.IsZero() {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "protocol registration of batch %s: a date is required", r.Batch)
	}
	if err := checkCause(r.Cause); err != nil {
		return domain.Batch{}, err
	}
	b, err := s.getBatch(ctx, r.Tenant, r.Batch)
	if err != nil {
		return domain.Batch{}, err
	}
	if b.Number != "" {
		return b.domain(), nil // registered already
	}
	if b.State != string(domain.BatchQueued) {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s: only queued batches are registered", r.Batch, b.State)
	}
	pk := registerPK(r.Tenant, r.AOO, r.Registry, r.Date.Year)
	n, err := s.claimedBy(ctx, r.Tenant, r.Batch, pk)
	if err != nil {
		return domain.Batch{}, err
	}
	if n == 0 {
		if n, err = s.claimNumber(ctx, pk, r); err != nil {
			return domain.Batch{}, err
		}
	}
	p := domain.Protocol{Number: domain.FormatProtocolNumber(n), Date: r.Date, Register: r.Registry}
	out, err := s.AdvanceBatch(ctx, domain.BatchChange{Tenant: r.Tenant, ID: r.Batch, From: domain.BatchQueued, To: domain.BatchProtocolled,
		Protocol: p, Cause: r.Cause})
	if domain.ErrorCode(err) != domain.ECONFLICT {
		return out, err
	}
	// Lost to a concurrent registration of the same batch: our number stays in
	// the register, annulled, and the winner's is the batch's.
	cur, gerr := s.getBatch(ctx, r.Tenant, r.Batch)
	if gerr != nil || cur.Number == "" || cur.Number == p.Number {
		return out, err
	}
	if _, aerr := s.update(ctx, update{pk: pk, sk: entrySK(n), expr: "SET annulled = :t, note = :note",
		cond: "#batch = :b", names: map[string]string{"#batch": "batch"}, values: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true},
			":note": str("annulled: batch registered as " + cur.Number), ":b": str(r.Batch)}}, nil); aerr != nil {
		return domain.Batch{}, aerr
	}
	return cur.domain(), nil
}

// claimedBy returns the lowest live number of the register pk that batch
// claimed already (a crash after the claim), or 0.
func (s *Dynamo) claimedBy(ctx context.Context, tenant, batch, pk string) (int64, error) {
	var n int64
	err := queryItems(ctx, s, &dynamodb.QueryInput{
		IndexName:                 aws.String(IndexGSI1),
		KeyConditionExpression:    aws.String("gsi1pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(batchRegPK(tenant, batch))},
	}, 0, "register entries", func(e entryItem) (bool, error) {
		if e.PK == pk && !e.Annulled && (n == 0 || e.Number < n) {
			n = e.Number
		}
		return true, nil
	})
	return n, err
}

// claimNumber writes the entry of the lowest free number above the counter and
// raises the counter to it. Every number up to the counter is claimed, and a
// claimer only moves to n+1 after finding n taken, so numbers have no gaps.
func (s *Dynamo) claimNumber(ctx context.Context, pk string, r domain.ProtocolRequest) (int64, error) {
	var counter struct {
		N int64 `dynamodbav:"n"`
	}
	if _, err := s.getItem(ctx, pk, skCounter, &counter); err != nil {
		return 0, err
	}
	now := s.now()
	for n, tries := counter.N+1, 0; tries < maxClaimAttempts; n, tries = n+1, tries+1 {
		ok, err := s.putNew(ctx, entryItem{
			PK: pk, SK: entrySK(n), Type: "register", GSI1PK: batchRegPK(r.Tenant, r.Batch), GSI1SK: entrySK(n),
			Number: n, Batch: r.Batch, Date: r.Date.String(), At: now, Cause: string(r.Cause),
		})
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		_, err = s.update(ctx, update{pk: pk, sk: skCounter, expr: "SET n = :n, #type = :type",
			cond: "attribute_not_exists(n) OR n < :n", names: map[string]string{"#type": "type"},
			values: map[string]types.AttributeValue{":n": num(n), ":type": str("counter")}}, nil)
		return n, err
	}
	return 0, domain.Errorf(domain.EINTERNAL, "protocol register %s: no free number after %d attempts", pk, maxClaimAttempts)
}
