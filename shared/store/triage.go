package store

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Triage items and the log of handled mailbox messages live under the
// reserved "Q#" prefix:
//
//	item            pk                          sk         gsi1 (pk / sk)                      gsi2 (pk / sk)
//	triage item     T#<t>#Q#<triage id>         #TRIAGE    T#<t>#Q#OPEN / <created>#<id>       T#<t>#TRIAGE / <created>#<id>
//	                                                       (only while open)
//	seen (content)  T#<t>#Q#S#<sha256>          #SEEN      -                                   -
//	seen (msg id)   T#<t>#Q#I#<message-id>      #SEEN      -                                   -
//
// The triage id is derived from the message key (a base32 digest), so that
// creating the item of one message twice writes one item.

var _ domain.TriageStore = (*Dynamo)(nil)

const (
	skTriage = "#TRIAGE"
	skSeen   = "#SEEN"
)

var triageIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// TriageID is the id of the triage item of the message stored at key.
func TriageID(tenant, messageKey string) string {
	sum := sha256.Sum256([]byte("triage|" + tenant + "|" + messageKey))
	return triageIDEncoding.EncodeToString(sum[:16])
}

func triagePK(tenant, id string) string   { return tk(tenant) + "Q#" + id }
func triageOpenPK(tenant string) string   { return tk(tenant) + "Q#OPEN" }
func triageAllPK(tenant string) string    { return tk(tenant) + "TRIAGE" }
func seenSHAPK(tenant, sha string) string { return tk(tenant) + "Q#S#" + strings.ToLower(sha) }

// seenMsgPK keys a Message-ID by its hash: Message-IDs come from outside and may
// be longer than a DynamoDB key allows.
func seenMsgPK(tenant, msgID string) string {
	sum := sha256.Sum256([]byte(msgID))
	return tk(tenant) + "Q#I#" + hex.EncodeToString(sum[:])
}

var hexSHARE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

type triageItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Type       string    `dynamodbav:"type"`
	GSI1PK     string    `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK     string    `dynamodbav:"gsi1sk,omitempty"`
	GSI2PK     string    `dynamodbav:"gsi2pk"`
	GSI2SK     string    `dynamodbav:"gsi2sk"`
	ID         string    `dynamodbav:"id"`
	Tenant     string    `dynamodbav:"tenant"`
	Mailbox    string    `dynamodbav:"mailbox"`
	MessageKey string    `dynamodbav:"message_key"`
	MessageID  string    `dynamodbav:"message_id,omitempty"`
	Kind       string    `dynamodbav:"kind"`
	Reason     string    `dynamodbav:"reason"`
	ReasonCode string    `dynamodbav:"reason_code,omitempty"`
	Facts      string    `dynamodbav:"facts,omitempty"` // JSON of domain.TriageFacts
	State      string    `dynamodbav:"state"`
	Batch      string    `dynamodbav:"batch,omitempty"`
	Note       string    `dynamodbav:"note,omitempty"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
	UpdatedAt  time.Time `dynamodbav:"updated_at"`
	Cause      string    `dynamodbav:"cause,omitempty"`
	Ver        int64     `dynamodbav:"ver"`
}

func (it triageItem) domain() domain.TriageItem {
	var facts domain.TriageFacts
	if it.Facts != "" {
		_ = json.Unmarshal([]byte(it.Facts), &facts) // written by us; a damaged copy shows no facts
	}
	return domain.TriageItem{ID: it.ID, Facts: facts, Tenant: it.Tenant, Mailbox: it.Mailbox, MessageKey: it.MessageKey, MessageID: it.MessageID,
		Kind: it.Kind, Reason: reasonOf(it.ReasonCode, it.Reason), CreatedAt: it.CreatedAt, State: domain.TriageState(it.State), Batch: it.Batch,
		Note: it.Note, UpdatedAt: it.UpdatedAt, Cause: domain.Cause(it.Cause), Version: it.Ver}
}

// CreateTriage stores a new open triage item, once per message key.
func (s *Dynamo) CreateTriage(ctx context.Context, t domain.TriageItem) (domain.TriageItem, bool, error) {
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
	now := s.now()
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	id := TriageID(t.Tenant, t.MessageKey)
	at := t.CreatedAt.UTC().Truncate(time.Microsecond)
	facts, err := json.Marshal(t.Facts)
	if err != nil {
		return domain.TriageItem{}, false, internal(err, "encoding triage facts")
	}
	it := triageItem{Facts: string(facts), PK: triagePK(t.Tenant, id), SK: skTriage, Type: "triage",
		GSI1PK: triageOpenPK(t.Tenant), GSI1SK: created(at, id), GSI2PK: triageAllPK(t.Tenant), GSI2SK: created(at, id),
		ID: id, Tenant: t.Tenant, Mailbox: strings.ToLower(t.Mailbox), MessageKey: t.MessageKey, MessageID: t.MessageID,
		Kind: t.Kind, Reason: t.Reason.Detail, ReasonCode: string(t.Reason.Code), State: string(domain.TriageOpen), CreatedAt: at, UpdatedAt: at, Cause: string(t.Cause), Ver: 1}
	ok, err := s.putNew(ctx, it)
	if err != nil {
		return domain.TriageItem{}, false, err
	}
	if ok {
		return it.domain(), true, nil
	}
	cur, err := s.GetTriage(ctx, t.Tenant, id)
	return cur, false, err
}

// GetTriage returns a triage item.
func (s *Dynamo) GetTriage(ctx context.Context, tenant, id string) (domain.TriageItem, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return domain.TriageItem{}, err
	}
	if !domain.ValidID(id) {
		return domain.TriageItem{}, domain.Errorf(domain.ENOTFOUND, "triage item %q not found", id)
	}
	it, err := getExisting[triageItem](ctx, s, triagePK(tenant, id), skTriage, "triage item %s not found", id)
	if err != nil {
		return domain.TriageItem{}, err
	}
	return it.domain(), nil
}

// ListTriage returns the triage items of a tenant newest first.
func (s *Dynamo) ListTriage(ctx context.Context, tenant string, state domain.TriageState, limit int) ([]domain.TriageItem, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return nil, err
	}
	if state != "" && !state.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "triage state %q: want open, assigned or dismissed", state)
	}
	in := &dynamodb.QueryInput{ScanIndexForward: aws.Bool(false), IndexName: aws.String(IndexGSI2),
		KeyConditionExpression:    aws.String("gsi2pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(triageAllPK(tenant))}}
	if state == domain.TriageOpen {
		in.IndexName = aws.String(IndexGSI1)
		in.KeyConditionExpression = aws.String("gsi1pk = :pk")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(triageOpenPK(tenant))}
	}
	var out []domain.TriageItem
	inState := func(it triageItem) bool { return state == "" || it.State == string(state) }
	err := queryItems(ctx, s, in, 0, "triage items", upTo(&out, limit, inState, triageItem.domain))
	return out, err
}

// AssignTriage records the batch a triage item's message belongs to.
func (s *Dynamo) AssignTriage(ctx context.Context, tenant, id, batch, note string, cause domain.Cause) (domain.TriageItem, error) {
	if err := checkCause(cause); err != nil {
		return domain.TriageItem{}, err
	}
	if err := checkID("batch", batch); err != nil {
		return domain.TriageItem{}, err
	}
	cur, err := s.GetTriage(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	if _, err := s.GetBatch(ctx, tenant, batch); err != nil {
		return domain.TriageItem{}, err
	}
	if cur.State == domain.TriageAssigned && cur.Batch == batch && (note == "" || note == cur.Note) {
		return cur, nil
	}
	return s.closeTriage(ctx, cur, domain.TriageAssigned, batch, note, cause)
}

// DismissTriage closes a triage item with a reason.
func (s *Dynamo) DismissTriage(ctx context.Context, tenant, id, reason string, cause domain.Cause) (domain.TriageItem, error) {
	if err := checkCause(cause); err != nil {
		return domain.TriageItem{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return domain.TriageItem{}, domain.Errorf(domain.EINVALID, "triage item %s: a reason is required to dismiss it", id)
	}
	cur, err := s.GetTriage(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	if cur.State == domain.TriageDismissed {
		return cur, nil
	}
	return s.closeTriage(ctx, cur, domain.TriageDismissed, cur.Batch, reason, cause)
}

func (s *Dynamo) closeTriage(ctx context.Context, cur domain.TriageItem, to domain.TriageState, batch, note string, cause domain.Cause) (domain.TriageItem, error) {
	if cur.State == domain.TriageDismissed {
		return domain.TriageItem{}, domain.Errorf(domain.ECONFLICT, "triage item %s is dismissed", cur.ID)
	}
	now := s.now()
	u := update{pk: triagePK(cur.Tenant, cur.ID), sk: skTriage,
		expr:  "SET #state = :to, note = :note, updated_at = :now, cause = :cause, ver = ver + :one REMOVE gsi1pk, gsi1sk",
		cond:  "ver = :ver",
		names: map[string]string{"#state": "state"},
		values: map[string]types.AttributeValue{":to": str(string(to)), ":note": str(note), ":now": str(now.Format(time.RFC3339Nano)),
			":cause": str(string(cause)), ":one": num(1), ":ver": num(cur.Version)}}
	if batch != "" {
		u.expr = "SET #batch = :batch, " + u.expr[len("SET "):]
		u.names["#batch"] = "batch"
		u.values[":batch"] = str(batch)
	}
	var out triageItem
	ok, err := s.update(ctx, u, &out)
	if err != nil {
		return domain.TriageItem{}, err
	}
	if !ok {
		return domain.TriageItem{}, domain.Errorf(domain.ECONFLICT, "triage item %s changed meanwhile; read it again", cur.ID)
	}
	return out.domain(), nil
}

type seenItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Type      string    `dynamodbav:"type"`
	SHA256    string    `dynamodbav:"sha256"`
	MessageID string    `dynamodbav:"message_id,omitempty"`
	Key       string    `dynamodbav:"key"`
	At        time.Time `dynamodbav:"at"`
}

// MessageSeen reports whether a message was handled already, by content or Message-ID.
func (s *Dynamo) MessageSeen(ctx context.Context, tenant, sha, msgID string) (bool, error) {
	if err := checkCode("tenant", tenant); err != nil {
		return false, err
	}
	var it seenItem
	if hexSHARE.MatchString(sha) {
		if found, err := s.getItem(ctx, seenSHAPK(tenant, sha), skSeen, &it); err != nil || found {
			return found, err
		}
	}
	if msgID != "" {
		return s.getItem(ctx, seenMsgPK(tenant, msgID), skSeen, &it)
	}
	return false, nil
}

// MarkMessageSeen records a handled message by content and by Message-ID.
func (s *Dynamo) MarkMessageSeen(ctx context.Context, tenant, sha, msgID, key string, at time.Time) error {
	if err := checkCode("tenant", tenant); err != nil {
		return err
	}
	if !hexSHARE.MatchString(sha) {
		return domain.Errorf(domain.EINVALID, "seen message: %q is not a hex SHA-256", sha)
	}
	at = at.UTC().Truncate(time.Microsecond)
	it := seenItem{PK: seenSHAPK(tenant, sha), SK: skSeen, Type: "seen", SHA256: strings.ToLower(sha), MessageID: msgID, Key: key, At: at}
	if _, err := s.putNew(ctx, it); err != nil {
		return err
	}
	if msgID != "" {
		it.PK = seenMsgPK(tenant, msgID)
		if _, err := s.putNew(ctx, it); err != nil {
			return err
		}
	}
	return nil
}
