package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// MaxBatchPeople bounds a batch so that its item stays far below DynamoDB's 400 KB.
const MaxBatchPeople = 5000

// CreateBatch stores a new queued batch (see domain.BatchStore).
func (s *Dynamo) CreateBatch(ctx context.Context, b domain.Batch, cause domain.Cause) (domain.Batch, error) {
	for _, err := range []error{checkCode("tenant", b.Tenant), checkCode("office", b.Office), checkID("batch", b.ID), checkCause(cause)} {
		if err != nil {
			return domain.Batch{}, err
		}
	}
	if len(b.People) == 0 || len(b.People) > MaxBatchPeople {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "batch %s: 1 to %d people, not %d", b.ID, MaxBatchPeople, len(b.People))
	}
	for _, id := range b.People {
		if _, _, err := domain.ParseSubjectID(id); err != nil {
			return domain.Batch{}, err
		}
	}
	now := s.now()
	it := batchItem{
		PK: batchPK(b.Tenant, b.ID), SK: skBatch, Type: "batch",
		GSI1PK: officeBatchesPK(b.Tenant, b.Office), GSI1SK: created(now, b.ID),
		GSI2PK: tenantBatchesPK(b.Tenant), GSI2SK: created(now, b.ID),
		ID: b.ID, Tenant: b.Tenant, Office: b.Office, State: string(domain.BatchQueued), People: b.People,
		CreatedAt: now, UpdatedAt: now, Cause: string(cause), Detail: fmt.Sprintf("queued with %d people", len(b.People)), Ver: 1,
	}
	ok, err := s.putNew(ctx, it)
	if err != nil {
		return domain.Batch{}, err
	}
	if !ok {
		// Into a fresh item: attributes the stored one lacks must read empty.
		if it, err = getExisting[batchItem](ctx, s, it.PK, it.SK, "batch %s vanished", b.ID); err != nil {
			return domain.Batch{}, err
		}
		// The same batch again; ClaimSubjects may have dropped some people since.
		if it.Office != b.Office || slices.ContainsFunc(it.People, func(id string) bool { return !slices.Contains(b.People, id) }) {
			return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s exists already", b.ID)
		}
	}
	return it.domain(), s.fileBatchEvent(ctx, it)
}

// fileBatchEvent (re-)files the event of the last state change of a batch.
func (s *Dynamo) fileBatchEvent(ctx context.Context, it batchItem) error {
	return s.fileEvent(ctx, domain.Event{Tenant: it.Tenant, Subject: it.ID, At: it.UpdatedAt, State: it.State,
		Detail: it.Detail, Cause: domain.Cause(it.Cause)}, it.TTL)
}

// GetBatch returns a batch by id.
func (s *Dynamo) GetBatch(ctx context.Context, tenant, id string) (domain.Batch, error) {
	it, err := s.getBatch(ctx, tenant, id)
	return it.domain(), err
}

func (s *Dynamo) getBatch(ctx context.Context, tenant, id string) (batchItem, error) {
	var it batchItem
	if err := checkCode("tenant", tenant); err != nil {
		return it, err
	}
	if !domain.ValidID(id) {
		return it, domain.Errorf(domain.ENOTFOUND, "batch %q not found", id)
	}
	return getExisting[batchItem](ctx, s, batchPK(tenant, id), skBatch, "batch %s not found", id)
}

// ListBatches returns batches newest first, of an office or of the tenant.
func (s *Dynamo) ListBatches(ctx context.Context, tenant, office string, states []domain.BatchState, limit int) ([]domain.Batch, error) {
	return s.batchesBefore(ctx, tenant, office, "", states, limit)
}

// BatchesBefore returns the batches of an office or tenant created before cursor, newest first.
func (s *Dynamo) BatchesBefore(ctx context.Context, tenant, office, cursor string, limit int) ([]domain.Batch, error) {
	if err := checkCursor(cursor); err != nil {
		return nil, err
	}
	return s.batchesBefore(ctx, tenant, office, cursor, nil, limit)
}

func (s *Dynamo) batchesBefore(ctx context.Context, tenant, office, cursor string, states []domain.BatchState, limit int) ([]domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	in := &dynamodb.QueryInput{ScanIndexForward: aws.Bool(false)}
	index, pk, sk := IndexGSI2, tenantBatchesPK(tenant), "gsi2sk"
	if office != "" {
		if err := checkCode("office", office); err != nil {
			return nil, err
		}
		index, pk, sk = IndexGSI1, officeBatchesPK(tenant, office), "gsi1sk"
	}
	in.IndexName = aws.String(index)
	in.KeyConditionExpression = aws.String(strings.Replace(sk, "sk", "pk", 1) + " = :pk")
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(pk)}
	if cursor != "" {
		*in.KeyConditionExpression += " AND " + sk + " < :before"
		in.ExpressionAttributeValues[":before"] = str(cursor)
	}
	var out []domain.Batch
	inStates := func(it batchItem) bool {
		return len(states) == 0 || slices.Contains(states, domain.BatchState(it.State))
	}
	err := queryItems(ctx, s, in, 0, "batches", upTo(&out, limit, inStates, batchItem.domain))
	return out, err
}

// ClaimSubjects moves the pending subjects listed by a queued batch to batched
// and drops from the batch those it could not claim.
func (s *Dynamo) ClaimSubjects(ctx context.Context, tenant, batch string, cause domain.Cause) ([]string, error) {
	if err := checkCause(cause); err != nil {
		return nil, err
	}
	b, err := s.getBatch(ctx, tenant, batch)
	if err != nil {
		return nil, err
	}
	if b.State != string(domain.BatchQueued) {
		return nil, domain.Errorf(domain.ECONFLICT, "batch %s is %s: subjects are claimed only while queued", batch, b.State)
	}
	lost := make([]bool, len(b.People))
	err = parallel(len(b.People), 8, func(i int) error {
		_, err := s.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: b.People[i], To: domain.PersonBatched, Batch: batch, Cause: cause})
		switch domain.ErrorCode(err) {
		case domain.ECONFLICT, domain.ENOTFOUND:
			lost[i] = true
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var kept, gone []string
	for i, id := range b.People {
		if lost[i] {
			gone = append(gone, id)
		} else {
			kept = append(kept, id)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	// Keep the batch's list truthful: only the people it really holds.
	ok, err := s.update(ctx, update{pk: b.PK, sk: skBatch, expr: "SET people = :people, ver = ver + :one",
		cond: "ver = :ver AND #state = :queued", names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":people": peopleList(kept), ":one": num(1), ":ver": num(b.Ver),
			":queued": str(string(domain.BatchQueued))}}, nil)
	if err == nil && !ok {
		err = domain.Errorf(domain.ECONFLICT, "batch %s changed while claiming its subjects", batch)
	}
	return gone, err
}

func peopleList(ids []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ids))
	for i, id := range ids {
		l[i] = str(id)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// SubjectsOfBatch returns the subjects a batch lists, in its order.
func (s *Dynamo) SubjectsOfBatch(ctx context.Context, tenant, batch string) ([]domain.Subject, error) {
	b, err := s.getBatch(ctx, tenant, batch)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]domain.Subject, len(b.People))
	for start := 0; start < len(b.People); start += 100 {
		var keys []map[string]types.AttributeValue
		for _, id := range b.People[start:min(start+100, len(b.People))] {
			u, row, err := domain.ParseSubjectID(id)
			if err != nil {
				return nil, err
			}
			keys = append(keys, key(uploadPK(tenant, u), subjectSK(row)))
		}
		for attempt := 0; len(keys) > 0; attempt++ {
			if attempt > 8 {
				return nil, domain.Errorf(domain.EINTERNAL, "reading the subjects of batch %s: keys still unprocessed", batch)
			}
			if attempt > 0 {
				time.Sleep(time.Duration(25<<attempt) * time.Millisecond)
			}
			res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
				*s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}})
			if err != nil {
				return nil, internal(err, "reading the subjects of batch %s", batch)
			}
			var page []subjectItem
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[*s.table], &page); err != nil {
				return nil, internal(err, "decoding subjects")
			}
			for _, it := range page {
				sub, err := it.domain()
				if err != nil {
					return nil, err
				}
				byKey[sub.ID] = sub
			}
			keys = res.UnprocessedKeys[*s.table].Keys
		}
	}
	out := make([]domain.Subject, 0, len(b.People))
	for _, id := range b.People {
		if sub, ok := byKey[id]; ok {
			out = append(out, sub)
		}
	}
	return out, nil
}

// AdvanceBatch applies a state change to a batch (see domain.BatchStore).
func (s *Dynamo) AdvanceBatch(ctx context.Context, c domain.BatchChange) (domain.Batch, error) {
	if err := checkCause(c.Cause); err != nil {
		return domain.Batch{}, err
	}
	if err := c.Check(); err != nil {
		return domain.Batch{}, err
	}
	it, err := s.getBatch(ctx, c.Tenant, c.ID)
	if err != nil {
		return domain.Batch{}, err
	}
	if it.State == string(c.To) {
		if (c.Protocol.Number != "" && c.Protocol.Number != it.Number) || (c.MessageID != "" && c.MessageID != it.MessageID) {
			return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s already, with another protocol or Message-ID", c.ID, c.To)
		}
		return it.domain(), s.fileBatchEvent(ctx, it) // a re-run
	}
	if err := c.CheckAgainst(domain.BatchState(it.State), it.Ver, it.Number, it.MessageID); err != nil {
		return domain.Batch{}, err
	}
	now := s.now()
	detail := c.EventDetail()
	u := update{
		pk: it.PK, sk: skBatch,
		expr:  "SET #state = :to, ver = ver + :one, updated_at = :now, cause = :cause, detail = :detail",
		cond:  "ver = :ver AND #state = :from",
		names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":to": str(string(c.To)), ":one": num(1), ":now": str(now.Format(time.RFC3339Nano)),
			":cause": str(string(c.Cause)), ":detail": str(detail), ":ver": num(it.Ver), ":from": str(it.State)},
	}
	if c.Protocol.Number != "" {
		u.expr += ", protocol_number = :pn, protocol_date = :pd"
		u.values[":pn"], u.values[":pd"] = str(c.Protocol.Number), str(c.Protocol.Date.String())
		if c.Protocol.Register != "" {
			u.expr += ", protocol_register = :pr"
			u.values[":pr"] = str(c.Protocol.Register)
		}
	}
	if c.MessageID != "" {
		u.expr += ", message_id = :mid"
		u.values[":mid"] = str(c.MessageID)
	}
	if !c.Reason.IsZero() {
		u.expr += ", reason = :reason, reason_code = :code"
		u.values[":reason"], u.values[":code"] = str(c.Reason.Detail), str(string(c.Reason.Code))
	}
	var ttl int64
	if c.To.Terminal() {
		ttl = s.expiry(now)
		u.expr += ", #ttl = :ttl"
		u.names["#ttl"] = AttrTTL
		u.values[":ttl"] = num(ttl)
	}
	var out batchItem
	ok, err := s.update(ctx, u, &out)
	if err != nil {
		return domain.Batch{}, err
	}
	if !ok {
		if cur, err := s.getBatch(ctx, c.Tenant, c.ID); err == nil && cur.State == string(c.To) &&
			(c.Protocol.Number == "" || c.Protocol.Number == cur.Number) {
			return cur.domain(), nil
		}
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s changed meanwhile; read it again", c.ID)
	}
	if c.MessageID != "" {
		if err := s.indexMessageID(ctx, c.Tenant, c.ID, c.MessageID, ttl); err != nil {
			return domain.Batch{}, err
		}
	}
	if err := s.fileBatchEvent(ctx, out); err != nil {
		return domain.Batch{}, err
	}
	if ttl > 0 {
		if err := s.expireEvents(ctx, c.Tenant, c.ID, ttl); err != nil {
			return domain.Batch{}, err
		}
		if out.MessageID != "" {
			if err := s.indexMessageID(ctx, c.Tenant, c.ID, out.MessageID, ttl); err != nil {
				return domain.Batch{}, err
			}
		}
	}
	return out.domain(), nil
}

// indexMessageID writes (or re-writes, with a TTL) the Message-ID → batch item.
func (s *Dynamo) indexMessageID(ctx context.Context, tenant, batch, msgID string, ttl int64) error {
	av, err := attributevalue.MarshalMap(msgItem{PK: msgPK(tenant, msgID), SK: skMsg, Type: "message", Batch: batch, TTL: ttl})
	if err != nil {
		return internal(err, "encoding message index")
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: av,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR #batch = :b"),
		ExpressionAttributeNames:  map[string]string{"#batch": "batch"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": str(batch)}})
	if conditionFailed(err) {
		return domain.Errorf(domain.ECONFLICT, "Message-ID %s belongs to another batch", msgID)
	}
	return internal(err, "writing message index")
}

// SetMessageID records and indexes the outgoing Message-ID of a batch.
func (s *Dynamo) SetMessageID(ctx context.Context, tenant, batch, msgID string) (domain.Batch, error) {
	if !domain.ValidMessageID(msgID) {
		return domain.Batch{}, domain.Errorf(domain.EINVALID, "message id %q: want <local@domain>", msgID)
	}
	it, err := s.getBatch(ctx, tenant, batch)
	if err != nil {
		return domain.Batch{}, err
	}
	if it.MessageID != "" && it.MessageID != msgID {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s has Message-ID %s already", batch, it.MessageID)
	}
	if domain.BatchState(it.State).Terminal() {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is %s", batch, it.State)
	}
	// Index first: a Message-ID on a batch is always findable.
	if err := s.indexMessageID(ctx, tenant, batch, msgID, 0); err != nil {
		return domain.Batch{}, err
	}
	if it.MessageID == msgID {
		return it.domain(), nil
	}
	var out batchItem
	ok, err := s.update(ctx, update{pk: it.PK, sk: skBatch, expr: "SET message_id = :m, ver = ver + :one",
		cond:   "attribute_not_exists(message_id) OR message_id = :m",
		values: map[string]types.AttributeValue{":m": str(msgID), ":one": num(1)}}, &out)
	if err == nil && !ok {
		err = domain.Errorf(domain.ECONFLICT, "batch %s got another Message-ID meanwhile", batch)
	}
	return out.domain(), err
}

// BatchByMessageID returns the batch an outgoing Message-ID belongs to.
func (s *Dynamo) BatchByMessageID(ctx context.Context, tenant, msgID string) (domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.Batch{}, err
	}
	m, err := getExisting[msgItem](ctx, s, msgPK(tenant, msgID), skMsg, "no batch sent with Message-ID %s", msgID)
	if err != nil {
		return domain.Batch{}, err
	}
	return s.GetBatch(ctx, tenant, m.Batch)
}

// RecordSendAttempt notes that a submission of a protocolled batch starts
// now; a zero time clears the note (the submission certainly did not leave).
func (s *Dynamo) RecordSendAttempt(ctx context.Context, tenant, batch string, at time.Time) (domain.Batch, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.Batch{}, err
	}
	if err := checkID("batch", batch); err != nil {
		return domain.Batch{}, err
	}
	u := update{pk: batchPK(tenant, batch), sk: skBatch,
		expr:  "SET send_attempts = if_not_exists(send_attempts, :zero) + :one, last_send_attempt = :at, ver = ver + :one",
		cond:  "#state = :protocolled AND attribute_exists(message_id)",
		names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":zero": num(0), ":one": num(1), ":at": str(at.UTC().Format(time.RFC3339Nano)),
			":protocolled": str(string(domain.BatchProtocolled))}}
	if at.IsZero() {
		// The submission certainly did not leave: nothing in flight.
		u.expr = "SET ver = ver + :one REMOVE last_send_attempt"
		delete(u.values, ":zero")
		delete(u.values, ":at")
	}
	var out batchItem
	ok, err := s.update(ctx, u, &out)
	if err != nil {
		return domain.Batch{}, err
	}
	if !ok {
		return domain.Batch{}, domain.Errorf(domain.ECONFLICT, "batch %s is not protocolled with a Message-ID: no submission to record", batch)
	}
	return out.domain(), nil
}
