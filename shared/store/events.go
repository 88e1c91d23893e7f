package store

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// fileEvent stores e once: its key is derived from its content, so a re-run
// that files the same event again changes nothing.
func (s *Dynamo) fileEvent(ctx context.Context, e domain.Event, ttl int64) error {
	at := e.At.UTC().Truncate(time.Microsecond)
	it := eventItem{
		PK: eventPK(e.Tenant, e.Subject), SK: at.Format(keyTime) + "#" + hash16(e.About, e.State, e.Detail, string(e.Cause)),
		Type: "event", About: e.About, At: at, State: e.State, Note: string(e.Note), Detail: e.Detail, Cause: string(e.Cause), TTL: ttl,
	}
	_, err := s.putNew(ctx, it)
	return err
}

// AppendEvent files a note under an upload or batch (see domain.EventStore).
func (s *Dynamo) AppendEvent(ctx context.Context, e domain.Event) error {
	if err := checkCode("tenant", e.Tenant); err != nil {
		return err
	}
	if err := checkID("subject", e.Subject); err != nil {
		return err
	}
	if err := checkCause(e.Cause); err != nil {
		return err
	}
	if e.At.IsZero() || e.State == "" {
		return domain.Errorf(domain.EINVALID, "event: at and state are required")
	}
	return s.fileEvent(ctx, e, 0)
}

// Events returns the events of an upload or batch in time order.
func (s *Dynamo) Events(ctx context.Context, tenant, subject string) ([]domain.Event, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	var out []domain.Event
	err := queryItems(ctx, s, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(eventPK(tenant, subject))},
		ConsistentRead:            aws.Bool(true),
	}, 0, "events", upTo(&out, 0, nil, func(it eventItem) domain.Event {
		return domain.Event{Tenant: tenant, Subject: subject, About: it.About, At: it.At,
			State: it.State, Note: domain.NoteCode(it.Note), Detail: it.Detail, Cause: domain.Cause(it.Cause)}
	}))
	// Keys sort by time already; the stable sort only guards equal times.
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, err
}

// expireEvents sets the TTL on every event of an upload or batch that lacks it.
func (s *Dynamo) expireEvents(ctx context.Context, tenant, subject string, ttl int64) error {
	var keys []map[string]types.AttributeValue
	err := s.query(ctx, &dynamodb.QueryInput{
		KeyConditionExpression:    aws.String("pk = :pk"),
		FilterExpression:          aws.String("attribute_not_exists(#ttl)"),
		ProjectionExpression:      aws.String("pk, sk"),
		ExpressionAttributeNames:  map[string]string{"#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(eventPK(tenant, subject))},
	}, 0, func(items []map[string]types.AttributeValue) (bool, error) {
		keys = append(keys, items...)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: s.table, Key: k,
			UpdateExpression:          aws.String("SET #ttl = :ttl"),
			ConditionExpression:       aws.String("attribute_exists(pk)"),
			ExpressionAttributeNames:  map[string]string{"#ttl": AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": num(ttl)},
		})
		if err != nil && !conditionFailed(err) {
			return internal(err, "setting the retention of events")
		}
	}
	return nil
}
