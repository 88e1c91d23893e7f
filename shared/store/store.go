// Package store is the DynamoDB implementation of domain.Store: one table,
// single-item conditional writes only (the local DynamoDB, dynalite, has no
// transactions and no TTL), every write safe to repeat.
//
// # Key design
//
// Every partition key starts with "T#<tenant>#", so a query can never cross
// tenants by accident. Ids are random (domain.NewID) or derived from ids and
// row numbers: no key ever holds personal data (names, birth dates, fiscal
// codes live only in the "person" attribute of subject items).
//
//	item            pk                                  sk                   gsi1 (pk / sk)                           gsi2 (pk / sk)
//	upload          T#<t>#U#<upload>                    #UPLOAD              T#<t>#RECEIVED / <created>#<id>          T#<t>#O#<office>#UPLOADS / <created>#<id>
//	                                                                         (while received), then
//	                                                                         T#<t>#O#<office>#OPEN / <created>#<id>
//	                                                                         (while queued with pending people)
//	subject         T#<t>#U#<upload>                    P#<row, 7 digits>    -                                        -
//	batch           T#<t>#B#<batch>                     #BATCH               T#<t>#O#<office>#BATCHES / <created>#<id> T#<t>#BATCHES / <created>#<id>
//	event           T#<t>#E#<upload or batch>           <at>#<hash>          -                                        -
//	message index   T#<t>#M#<message-id>                #MSG                 -                                        -
//	register        T#<t>#R#<aoo>#<registry>#<year>     #COUNTER             -                                        -
//	register entry  T#<t>#R#<aoo>#<registry>#<year>     N#<number, 10 dig.>  T#<t>#B#<batch>#REG / N#<number>       -
//	lease           T#<t>#L#<name>                      #LEASE               -                                        -
//	mailbox cursor  T#<t>#X#<mailbox address>           #CURSOR              -                                        -
//	attempts        T#<t>#A#<mailbox hash>#<uidv>#<uid> #ATTEMPT             -                                        -
//	manual number   T#<t>#MP#<year>                     N#<number, 10 dig.>  -                                        -
//	triage item     T#<t>#Q#<triage id>                 #TRIAGE              see triage.go (and the log of messages seen)
//
// <created> and <at> are UTC times in a fixed-width form, so keys sort in time
// order. Both indexes project all attributes. Offices and tenants are not
// stored: they come from the tenants configuration (shared/tenants).
//
// The queries: pending subjects of an office = gsi1 "OPEN" (oldest upload
// first), then each upload's partition filtered on state; subjects of an
// upload = its partition, "P#" prefix; subjects of a batch = BatchGetItem of
// the ids the batch lists; batches of an office or tenant = gsi1 / gsi2
// backwards; batches of a tenant created in a span (the report) = gsi2
// "T#<t>#BATCHES" on a range of <created>; events = the "E#" partition of the
// upload or batch, in sk order;
// batch of a Message-ID = the message index item.
//
// # Concurrency and idempotency
//
// Uploads, subjects, batches and cursors carry "ver", incremented by every
// change; changes are conditional on the version and state read, so two
// handlers never both win. A change that finds the item already in the target
// state succeeds without writing (a re-run), and re-files its event: event
// keys are derived from the stored change (its time, state and cause), so
// filing twice stores one item.
//
// Dispatch, against a crash between single writes (shared/dispatch): (1)
// acquire the office's dispatch lease (and, per submission, the batch's send
// lease); (2) finish the office's queued batches first (ListBatches with
// state queued: ClaimSubjects again, then protocol); (3) PendingSubjects,
// CreateBatch, ClaimSubjects; (4) RegisterProtocol (or AdvanceBatch with the
// external register's number); (5) SetMessageID before sending, so that
// receipts arriving before (6) AdvanceBatch to sent still match.
//
// # Protocol register
//
// The built-in register gives, per tenant, AOO, registry and year, numbers
// 1, 2, 3, ... with no gaps and no duplicates: an entry item per number is
// written with attribute_not_exists (the claim), and the counter item is only
// a hint of the highest claimed number (raised after each claim), so a
// claimer walks forward from it. A number claimed by a batch that turns out to
// be registered already (two concurrent registrations of one batch) is kept
// and marked annulled, as protocol rules require (numbers are never reused nor
// deleted); a crash between the claim and the batch update is healed by the
// next attempt, which finds the entry through gsi1. Register entries never
// expire.
//
// # Retention
//
// When a batch, an upload or a subject reaches a terminal state its item gets
// the "ttl" attribute (epoch seconds: the change time plus Options.Retention,
// 12 months by default), and so do the batch's or upload's events and
// message-index item. DynamoDB's TTL must be enabled on "ttl" by the
// infrastructure; dynalite never expires items.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Options configure a Dynamo store.
type Options struct {
	Table     string           // table name (CASELLARIO_TABLE)
	Retention time.Duration    // kept after a terminal state; zero means 12 months (CASELLARIO_RETENTION, e.g. "8760h")
	Now       func() time.Time // clock; time.Now when nil (tests set it)
}

// Dynamo is the DynamoDB store. Safe for concurrent use.
type Dynamo struct {
	db    *dynamodb.Client
	table *string
	opt   Options
}

var _ domain.Store = (*Dynamo)(nil)

// New returns a store over client and table opt.Table.
func New(client *dynamodb.Client, opt Options) *Dynamo {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Dynamo{db: client, table: aws.String(opt.Table), opt: opt}
}

// now is the store's clock, truncated to microseconds so that times survive a
// round trip through the item unchanged (event keys are derived from them).
func (s *Dynamo) now() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// expiry is the TTL (epoch seconds) of an item that became terminal at t.
func (s *Dynamo) expiry(t time.Time) int64 {
	if s.opt.Retention > 0 {
		return t.Add(s.opt.Retention).Unix()
	}
	return t.AddDate(0, 12, 0).Unix()
}

// Key attribute names and index names; CreateTable and the infrastructure use them.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	AttrTTL    = "ttl" // enable DynamoDB TTL on this attribute
	IndexGSI1  = "gsi1"
	IndexGSI2  = "gsi2"
)

const (
	skUpload  = "#UPLOAD"
	skBatch   = "#BATCH"
	skMsg     = "#MSG"
	skCounter = "#COUNTER"
	skLease   = "#LEASE"
	skCursor  = "#CURSOR"
)

const keyTime = domain.CursorTime // fixed width: sorts as text

func tk(tenant string) string             { return "T#" + tenant + "#" }
func uploadPK(tenant, id string) string   { return tk(tenant) + "U#" + id }
func batchPK(tenant, id string) string    { return tk(tenant) + "B#" + id }
func eventPK(tenant, id string) string    { return tk(tenant) + "E#" + id }
func msgPK(tenant, msgID string) string   { return tk(tenant) + "M#" + msgID }
func leasePK(tenant, name string) string  { return tk(tenant) + "L#" + name }
func cursorPK(tenant, mbox string) string { return tk(tenant) + "X#" + strings.ToLower(mbox) }
func subjectSK(row int) string            { return fmt.Sprintf("P#%07d", row) }
func openPK(tenant, office string) string { return tk(tenant) + "O#" + office + "#OPEN" }
func receivedPK(tenant string) string     { return tk(tenant) + "RECEIVED" }
func uploadsPK(tenant, office string) string {
	return tk(tenant) + "O#" + office + "#UPLOADS"
}
func officeBatchesPK(tenant, office string) string { return tk(tenant) + "O#" + office + "#BATCHES" }
func tenantBatchesPK(tenant string) string         { return tk(tenant) + "BATCHES" }
func created(t time.Time, id string) string        { return t.UTC().Format(keyTime) + "#" + id }
func registerPK(tenant, aoo, registry string, year int) string {
	return fmt.Sprintf("%sR#%s#%s#%04d", tk(tenant), aoo, registry, year)
}
func entrySK(n int64) string                 { return fmt.Sprintf("N#%010d", n) }
func batchRegPK(tenant, batch string) string { return tk(tenant) + "B#" + batch + "#REG" }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// codeRE is what tenant ids, office codes, AOO and registry codes may contain:
// no "#", no "/", no spaces, so they are safe inside keys.
var codeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

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

// cursorRE is a listing's cursor (domain.ListCursor).
var cursorRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#[a-z2-7]{26}$`)

func checkCursor(c string) error {
	if !cursorRE.MatchString(c) {
		return domain.Errorf(domain.EINVALID, "cursor %q: not one a listing gave", c)
	}
	return nil
}

func checkCause(c domain.Cause) error {
	if !c.Valid() {
		return domain.Errorf(domain.EINVALID, "cause %q: want s3:, pec:, schedule: or user: followed by a value", c)
	}
	return nil
}

// conditionFailed reports whether err is a lost conditional write.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// internal wraps an SDK error for operators; messages never carry item contents.
func internal(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	e := domain.Errorf(domain.EINTERNAL, format, args...)
	e.Err = err
	return e
}

func (s *Dynamo) getItem(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, internal(err, "reading %s", sk)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, internal(err, "decoding %s", sk)
	}
	return true, nil
}

// putNew writes item if no item has its key; it reports false when one had.
func (s *Dynamo) putNew(ctx context.Context, item any) (bool, error) {
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		return false, internal(err, "encoding item")
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: s.table, Item: av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if conditionFailed(err) {
		return false, nil
	}
	return err == nil, internal(err, "writing item")
}

// update is an UpdateItem returning the new item into out; a failed condition
// is reported as ok=false.
type update struct {
	pk, sk string
	expr   string
	cond   string
	names  map[string]string
	values map[string]types.AttributeValue
}

func (s *Dynamo) update(ctx context.Context, u update, out any) (bool, error) {
	in := &dynamodb.UpdateItemInput{
		TableName: s.table, Key: key(u.pk, u.sk),
		UpdateExpression: aws.String(u.expr),
		ReturnValues:     types.ReturnValueAllNew,
	}
	if u.cond != "" {
		in.ConditionExpression = aws.String(u.cond)
	}
	if len(u.names) > 0 {
		in.ExpressionAttributeNames = u.names
	}
	if len(u.values) > 0 {
		in.ExpressionAttributeValues = u.values
	}
	res, err := s.db.UpdateItem(ctx, in)
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, internal(err, "updating %s", u.sk)
	}
	if out != nil {
		if err := attributevalue.UnmarshalMap(res.Attributes, out); err != nil {
			return false, internal(err, "decoding %s", u.sk)
		}
	}
	return true, nil
}

// query runs a query to the end (or until max items, when max > 0), calling
// each for every page.
func (s *Dynamo) query(ctx context.Context, in *dynamodb.QueryInput, max int, each func([]map[string]types.AttributeValue) (bool, error)) error {
	in.TableName = s.table
	n := 0
	for {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return internal(err, "querying")
		}
		more, err := each(res.Items)
		if err != nil {
			return err
		}
		n += len(res.Items)
		if !more || len(res.LastEvaluatedKey) == 0 || (max > 0 && n >= max) {
			return nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// getExisting reads the item at (pk, sk) into a fresh T (attributes the
// item lacks read as zero); ENOTFOUND, with the message given, when there is
// none.
func getExisting[T any](ctx context.Context, s *Dynamo, pk, sk, format string, args ...any) (T, error) {
	var it T
	found, err := s.getItem(ctx, pk, sk, &it)
	if err == nil && !found {
		err = domain.Errorf(domain.ENOTFOUND, format, args...)
	}
	return it, err
}

// queryItems runs a query and hands each item, decoded as T, to each
// until each says stop (false) or an error; what names the items in errors.
func queryItems[T any](ctx context.Context, s *Dynamo, in *dynamodb.QueryInput, max int, what string, each func(T) (bool, error)) error {
	return s.query(ctx, in, max, func(items []map[string]types.AttributeValue) (bool, error) {
		var page []T
		if err := attributevalue.UnmarshalListOfMaps(items, &page); err != nil {
			return false, internal(err, "decoding %s", what)
		}
		for _, it := range page {
			if more, err := each(it); err != nil || !more {
				return false, err
			}
		}
		return true, nil
	})
}

// upTo collects converted items up to limit (every one when limit <= 0):
// the each of queryItems for a listing.
func upTo[T, D any](out *[]D, limit int, keep func(T) bool, conv func(T) D) func(T) (bool, error) {
	return func(it T) (bool, error) {
		if keep != nil && !keep(it) {
			return true, nil
		}
		if limit > 0 && len(*out) >= limit {
			return false, nil
		}
		*out = append(*out, conv(it))
		return limit <= 0 || len(*out) < limit, nil
	}
}

// hash16 is a short digest of parts, for event keys.
func hash16(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// parallel runs f(i) for i in [0,n) on a few goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	if workers > n {
		workers = n
	}
	errs := make(chan error, workers)
	next := make(chan int)
	for w := 0; w < workers; w++ {
		go func() {
			var first error
			for i := range next {
				if first == nil {
					first = f(i)
				}
			}
			errs <- first
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var first error
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
