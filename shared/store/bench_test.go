package store_test

import (
	"context"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
	"github.com/casellario-pec/casellario/shared/store"
)

// BenchmarkPipelineCalls counts DynamoDB calls for 1,000 people through the
// store: intake, dispatch (batches of 300), protocol, certificates.
func BenchmarkPipelineCalls(b *testing.B) {
	env := testenv.New(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		s := store.New(env.Dynamo, store.Options{Table: env.Table})
		env.Calls.Reset()
		id := domain.NewID()
		cause := domain.CauseS3("k", "v")
		if _, err := s.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: "SUAP", Key: "k", SHA256: sha}, cause); err != nil {
			b.Fatal(err)
		}
		people := make([]domain.Subject, 1000)
		for r := range people {
			people[r] = domain.Subject{Row: r + 2}
		}
		if err := s.PutSubjects(ctx, tenant, id, people); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: 1000, Valid: 1000}, "", domain.Reason{}, cause); err != nil {
			b.Fatal(err)
		}
		sched := domain.CauseSchedule("x")
		for {
			pend, err := s.PendingSubjects(ctx, tenant, "SUAP", 300)
			if err != nil {
				b.Fatal(err)
			}
			if len(pend) == 0 {
				break
			}
			ids := make([]string, len(pend))
			for j, p := range pend {
				ids[j] = p.ID
			}
			bt, err := s.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: "SUAP", People: ids}, sched)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.ClaimSubjects(ctx, tenant, bt.ID, sched); err != nil {
				b.Fatal(err)
			}
			if _, err := s.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "A", Registry: "PG", Batch: bt.ID, Date: domain.Date{Year: 2026, Month: 1, Day: 2}, Cause: sched}); err != nil {
				b.Fatal(err)
			}
			for _, sid := range ids {
				if _, err := s.AdvanceSubject(ctx, domain.SubjectChange{Tenant: tenant, ID: sid, Batch: bt.ID, To: domain.PersonCertified,
					Certificate: &domain.Certificate{Outcome: domain.OutcomeNullo, Key: "k", SHA256: sha}, Cause: domain.CausePEC("<r@x.test>")}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(env.Calls.Total("DynamoDB")), "dynamodb-calls/1000-people")
	b.Logf("calls: %s", env.Calls)
}
