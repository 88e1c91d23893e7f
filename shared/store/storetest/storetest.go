// Package storetest is the contract of the stores: the cases every
// implementation of domain.Store and domain.TriageStore must pass. The
// DynamoDB store (shared/store, on dynalite) and the in-memory one
// (shared/store/memstore) both run them, so that the fake the fast tests use
// cannot drift from the real store:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
//			return memstore.New(memstore.Options{Now: now})
//		})
//	}
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// Store is what the handlers take of a store.
type Store interface {
	domain.Store
	domain.TriageStore
}

// Open returns a new, empty store whose clock is now.
type Open func(t *testing.T, now func() time.Time) Store

// Case is one case of the contract.
type Case struct {
	Name string
	Run  func(t *testing.T, f *Fixture)
}

// Cases are the cases Run runs, in order.
func Cases() []Case {
	var all []Case
	for _, group := range [][]Case{uploadCases, batchCases, protocolCases, stateCases, triageCases, {{"errors", testErrors}}} {
		all = append(all, group...)
	}
	return all
}

// Run runs every case, each on a new store from open.
func Run(t *testing.T, open Open) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			c.Run(t, NewFixture(t, open))
		})
	}
}

// Fixture is a store with a clock the case moves: each reading is one
// millisecond after the previous one.
type Fixture struct {
	Store
	mu sync.Mutex
	at time.Time
}

// NewFixture opens a store on a clock starting at 2026-03-02 09:00 UTC.
func NewFixture(t *testing.T, open Open) *Fixture {
	f := &Fixture{at: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	f.Store = open(t, f.Now)
	return f
}

// Now reads the clock, moving it on by a millisecond.
func (f *Fixture) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = f.at.Add(time.Millisecond)
	return f.at
}

// Advance moves the clock on by d.
func (f *Fixture) Advance(d time.Duration) {
	f.mu.Lock()
	f.at = f.at.Add(d)
	f.mu.Unlock()
}

// last is the clock's latest reading.
func (f *Fixture) last() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.at
}

const (
	tenant = "c_g999"
	other  = "c_l537"
)

var (
	sha  = fmt.Sprintf("%064x", 42)
	sha2 = fmt.Sprintf("%064x", 43)
	ctx  = context.Background()
	day  = domain.Date{Year: 2026, Month: 3, Day: 2}
)

func code(t *testing.T, err error, want string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
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

func person(r int) domain.Person {
	return domain.Person{Surname: "ROSSI", Name: fmt.Sprint("MARIO", r), Sex: domain.Male, BirthDate: domain.Date{Year: 1980, Month: 1, Day: 1},
		BirthPlaceCode: "H501", FiscalCode: "RSSMRA80A01H501U"}
}

// receivedUpload creates an upload of office with n people, left received.
func (f *Fixture) receivedUpload(t *testing.T, office string, n int) domain.Upload {
	t.Helper()
	id := domain.NewID()
	u := must[domain.Upload](t)(f.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: office,
		Key: tenant + "/" + office + "/" + id + "/list.csv", ObjectVersion: "v1", SHA256: sha}, domain.CauseS3("k", "v1")))
	var people []domain.Subject
	for r := 2; r < n+2; r++ {
		people = append(people, domain.Subject{Row: r, Person: person(r)})
	}
	if err := f.PutSubjects(ctx, tenant, u.ID, people); err != nil {
		t.Fatal(err)
	}
	return u
}

// queuedUpload creates an upload of office with n people and queues it.
func (f *Fixture) queuedUpload(t *testing.T, office string, n int) domain.Upload {
	t.Helper()
	u := f.receivedUpload(t, office, n)
	return must[domain.Upload](t)(f.AdvanceUpload(ctx, tenant, u.ID, domain.UploadQueued,
		&domain.Counts{Rows: n, Valid: n}, "report", domain.Reason{}, domain.CauseS3("k", "v1")))
}

// batchOf creates a queued batch of people and claims them.
func (f *Fixture) batchOf(t *testing.T, office string, people ...string) domain.Batch {
	t.Helper()
	b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: office, People: people}, domain.CauseUser("x")))
	if lost := must[[]string](t)(f.ClaimSubjects(ctx, tenant, b.ID, domain.CauseUser("x"))); len(lost) != 0 {
		t.Fatalf("lost %v", lost)
	}
	return must[domain.Batch](t)(f.GetBatch(ctx, tenant, b.ID))
}

// sentBatch takes a batch of people as far as sent: protocolled in the
// built-in register, with a Message-ID.
func (f *Fixture) sentBatch(t *testing.T, office string, people ...string) domain.Batch {
	t.Helper()
	b := f.batchOf(t, office, people...)
	must[domain.Batch](t)(f.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: tenant, AOO: "AOO1", Registry: "PG", Batch: b.ID, Date: day, Cause: domain.CauseUser("x")}))
	must[domain.Batch](t)(f.SetMessageID(ctx, tenant, b.ID, "<casellario."+b.ID+"@pec.comune.prato.test>"))
	return must[domain.Batch](t)(f.AdvanceBatch(ctx, domain.BatchChange{Tenant: tenant, ID: b.ID, To: domain.BatchSent, Cause: domain.CauseUser("x")}))
}

func certificate(f *Fixture, sum string) *domain.Certificate {
	return &domain.Certificate{Outcome: domain.OutcomeNullo, Key: tenant + "/batches/x/certificates/" + sum[:8] + ".pdf", SHA256: sum, ReceivedAt: f.Now()}
}

func states(evs []domain.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.State)
	}
	return fmt.Sprint(s)
}
