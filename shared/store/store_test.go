package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const tenant = "c_g999"

var sha = fmt.Sprintf("%064x", 42)

// TestContract runs the stores' contract against DynamoDB (dynalite); the
// tests below are about the table itself.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
		env := testenv.New(t)
		return store.New(env.Dynamo, store.Options{Table: env.Table, Now: now})
	})
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// scan reads every item of the table.
func scan(t *testing.T, env *testenv.Env) []map[string]any {
	t.Helper()
	var out []map[string]any
	p := dynamodb.NewScanPaginator(env.Dynamo, &dynamodb.ScanInput{TableName: aws.String(env.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var items []map[string]any
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
	}
	return out
}

// TestItemLayout: after a whole journey, every key is the tenant's and free
// of personal data, only subject items hold a person, and what became
// terminal carries its TTL while the register never expires.
func TestItemLayout(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	s := store.New(env.Dynamo, store.Options{Table: env.Table, Retention: 48 * time.Hour})
	p := domain.Person{Surname: "FERRARIS", Name: "GIOVANNA", Sex: domain.Female, BirthDate: domain.Date{Year: 1975, Month: 4, Day: 3},
		BirthPlaceCode: "G999", FiscalCode: "FRRGNN75D43G999X"}
	id := domain.NewID()
	cause := domain.CauseUser("x")
	must[domain.Upload](t)(s.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}, cause))
	if err := s.PutSubjects(ctx, tenant, id, []domain.Subject{{Row: 2, Person: p}}); err != nil {
		t.Fatal(err)
	}
	must[domain.Upload](t)(s.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: 1, Valid: 1}, "r", domain.Reason{}, cause))
	sub := domain.SubjectID(id, 2)
	b := must[domain.Batch](t)(s.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{sub}}, cause))
	must[[]string](t)(s.ClaimSubjects(ctx, tenant, b.ID, cause))
	must[domain.Batch](t)(s.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b.ID,
		Date: domain.Date{Year: 2026, Month: 3, Day: 2}, Cause: cause}))
	must[domain.Batch](t)(s.SetMessageID(ctx, tenant, b.ID, "<casellario."+b.ID+"@pec.test>"))
	must[domain.Batch](t)(s.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchSent, Cause: cause}))
	must[domain.Subject](t)(s.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: sub, Batch: b.ID, To: domain.PersonCertified,
		Certificate: &domain.Certificate{Outcome: domain.OutcomeNullo, Key: "c", SHA256: sha}, Cause: cause}))
	done := must[domain.Batch](t)(s.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchCompleted, Cause: cause}))
	if want := time.Now().Add(48 * time.Hour); done.ExpiresAt.Before(want.Add(-time.Minute)) || done.ExpiresAt.After(want.Add(time.Minute)) {
		t.Errorf("expires %v with a retention of 48h", done.ExpiresAt)
	}
	must[domain.Lease](t)(s.AcquireLease(ctx, tenant, "dispatch-SUAP", "a", time.Minute))

	personal := []string{p.Surname, p.Name, p.FiscalCode, "1975-04-03"}
	types := map[string]int{}
	for _, it := range scan(t, env) {
		typ, _ := it["type"].(string)
		types[typ]++
		for _, k := range []string{"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"} {
			v, _ := it[k].(string)
			if k == "pk" && !strings.HasPrefix(v, "T#"+tenant+"#") {
				t.Errorf("%s item: pk %q outside the tenant", typ, v)
			}
			for _, x := range personal {
				if strings.Contains(v, x) {
					t.Errorf("%s item: %s %q holds personal data", typ, k, v)
				}
			}
		}
		if _, ok := it["person"]; ok != (typ == "subject") {
			t.Errorf("%s item: person attribute %v", typ, ok)
		}
		_, hasTTL := it[store.AttrTTL]
		pk, _ := it["pk"].(string)
		switch {
		case typ == "register" || typ == "counter" || typ == "upload":
			if hasTTL {
				t.Errorf("%s item %s expires", typ, pk)
			}
		case typ == "batch" || typ == "message" || typ == "lease" || typ == "subject" || typ == "event" && strings.Contains(pk, "#E#"+b.ID):
			if !hasTTL {
				t.Errorf("%s item %s has no TTL", typ, pk)
			}
		}
	}
	for _, typ := range []string{"upload", "subject", "batch", "event", "message", "register", "counter", "lease"} {
		if types[typ] == 0 {
			t.Errorf("no %s item in the table: %v", typ, types)
		}
	}
}

// TestRegisterAfterACrash: the register entries are the claims, the
// counter only a hint. A claim left by a crashed registration is the
// batch's number on the next attempt, and numbers claimed above a stale
// counter are walked over.
func TestRegisterAfterACrash(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	s := store.New(env.Dynamo, store.Options{Table: env.Table})
	cause := domain.CauseUser("x")
	up := domain.NewID()
	newBatch := func() string {
		b := must[domain.Batch](t)(s.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: []string{domain.SubjectID(up, 2)}}, cause))
		return b.ID
	}
	crashed, walker := newBatch(), newBatch()
	pk := "T#" + tenant + "#R#AOO1#PG#2026"
	entry := func(n int, batch string) {
		item, err := attributevalue.MarshalMap(map[string]any{"pk": pk, "sk": fmt.Sprintf("N#%010d", n), "type": "register",
			"gsi1pk": "T#" + tenant + "#B#" + batch + "#REG", "gsi1sk": fmt.Sprintf("N#%010d", n), "number": n, "batch": batch,
			"date": "2026-03-02", "at": time.Now().UTC(), "cause": string(cause)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Dynamo.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(env.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	entry(1, crashed) // claimed, then the registration crashed before the batch was updated
	entry(2, "someoneelse0000000000000a")
	reg := func(batch string) string {
		b := must[domain.Batch](t)(s.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: batch,
			Date: domain.Date{Year: 2026, Month: 3, Day: 2}, Cause: cause}))
		return b.Protocol.Number
	}
	if n := reg(crashed); n != "0000001" {
		t.Errorf("the crashed registration's batch got %s, want its claim 0000001", n)
	}
	if n := reg(walker); n != "0000003" {
		t.Errorf("next batch got %s, want 0000003 (1 and 2 claimed, the counter unset)", n)
	}
	var counter struct {
		N int `dynamodbav:"n"`
	}
	out, err := env.Dynamo.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(env.Table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "#COUNTER"}}})
	if err != nil || attributevalue.UnmarshalMap(out.Item, &counter) != nil || counter.N != 3 {
		t.Errorf("counter %d (%v), want 3", counter.N, err)
	}
}
