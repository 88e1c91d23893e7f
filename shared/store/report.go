package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// BatchesCreated returns a tenant's batches created in [from, to), oldest
// first, for the turnaround report (shared/report). One query of gsi2's
// "T#<t>#BATCHES" partition on the range of <created>: it reads only the
// period's batch items (eventually consistent, half a read unit per 4 KB;
// a batch of 300 people is about 10 KB), never the rest of the table.
func (s *Dynamo) BatchesCreated(ctx context.Context, tenant string, from, to time.Time) ([]domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, domain.Errorf(domain.EINVALID, "batches created from %s to %s: an empty span", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	// "<to>" sorts before "<to>#<id>": BETWEEN leaves out a batch created at to itself.
	in := &dynamodb.QueryInput{
		IndexName:              aws.String(IndexGSI2),
		KeyConditionExpression: aws.String("gsi2pk = :pk AND gsi2sk BETWEEN :from AND :to"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantBatchesPK(tenant)),
			":from": str(from.UTC().Format(keyTime)), ":to": str(to.UTC().Format(keyTime))},
	}
	var out []domain.Batch
	err := queryItems(ctx, s, in, 0, "batches", upTo(&out, 0, nil, batchItem.domain))
	return out, err
}
