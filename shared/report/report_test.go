package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/poll"
)

func TestDefaultOverdueAfterIsPolls(t *testing.T) {
	if DefaultOverdueAfter != poll.DefaultOverdueAfter {
		t.Fatalf("report's %s differs from poll's %s", DefaultOverdueAfter, poll.DefaultOverdueAfter)
	}
}

func TestPercentile(t *testing.T) {
	for _, tt := range []struct {
		v        []float64
		p, want  float64
		hasValue bool
	}{
		{nil, 50, 0, false},
		{[]float64{7}, 50, 7, true},
		{[]float64{7}, 90, 7, true},
		{[]float64{4, 1, 3, 2}, 50, 2, true}, // rank ceil(2) = 2
		{[]float64{4, 1, 3, 2}, 90, 4, true}, // rank ceil(3.6) = 4
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5, true},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9, true},
		{[]float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 11}, 90, 10, true}, // rank ceil(9.9) = 10
	} {
		got, ok := Percentile(tt.v, tt.p)
		if ok != tt.hasValue || got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v %v, want %v %v", tt.v, tt.p, got, ok, tt.want, tt.hasValue)
		}
	}
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func h(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }

func ev(state string, at time.Time) domain.Event { return domain.Event{State: state, At: at} }

// batch builds a batch of office with n people of upload "u" (created at
// t0) and the events given; the people are certified at certAt when not zero.
func batch(id, office string, state domain.BatchState, n int, certAt time.Time, evs ...domain.Event) BatchFacts {
	upload := domain.NewID()
	b := domain.Batch{ID: id, Office: office, State: state, SendAttempts: 1}
	var subs []domain.Subject
	for i := 0; i < n; i++ {
		s := domain.Subject{ID: domain.SubjectID(upload, i+2), Upload: upload, Batch: id, State: domain.PersonBatched}
		if !certAt.IsZero() {
			s.State, s.Certificate = domain.PersonCertified, &domain.Certificate{Outcome: domain.OutcomeNullo, ReceivedAt: certAt}
		}
		b.People = append(b.People, s.ID)
		subs = append(subs, s)
	}
	return BatchFacts{Batch: b, Events: evs, Subjects: subs, Uploads: map[string]time.Time{upload: t0}}
}

func f(x float64) *float64 { return &x }

func TestComputeTurnaround(t *testing.T) {
	var zero time.Time
	for _, tt := range []struct {
		name    string
		batches []BatchFacts
		want    OfficeReport
	}{
		{"no request", nil, OfficeReport{}},
		{"one completed request", []BatchFacts{
			batch("b1", "SUAP", domain.BatchCompleted, 2, h(50),
				ev("queued", h(3)), ev("protocolled", h(3.5)), ev("sent", h(4)), ev("accepted", h(4.01)),
				ev("delivered", h(5)), ev("replied", h(28)), ev("completed", h(28.1))),
		}, OfficeReport{Requests: 1, People: 2, Turnaround: Turnaround{
			UploadToSent: Percentiles{f(4), f(4)}, SentToDelivered: Percentiles{f(1), f(1)},
			SentToReply: Percentiles{f(24), f(24)}, UploadToCertified: Percentiles{f(50), f(50)}}}},
		{"sent skipped: the acceptance counts as sent", []BatchFacts{
			batch("b1", "SUAP", domain.BatchDelivered, 1, zero, ev("protocolled", h(1)), ev("accepted", h(2)), ev("delivered", h(3))),
		}, OfficeReport{Requests: 1, People: 1, Overdue: 1, Turnaround: Turnaround{UploadToSent: Percentiles{f(2), f(2)}, SentToDelivered: Percentiles{f(1), f(1)}}}},
		{"percentiles over requests and people", []BatchFacts{
			batch("b1", "SUAP", domain.BatchReplied, 1, zero, ev("sent", h(1)), ev("delivered", h(2)), ev("replied", h(11))),
			batch("b2", "SUAP", domain.BatchReplied, 1, zero, ev("sent", h(2)), ev("delivered", h(4)), ev("replied", h(22))),
			batch("b3", "SUAP", domain.BatchReplied, 3, zero, ev("sent", h(3)), ev("delivered", h(6)), ev("replied", h(33))),
		}, OfficeReport{Requests: 3, People: 5, Turnaround: Turnaround{
			UploadToSent:    Percentiles{f(3), f(3)}, // 1, 2, 3, 3, 3
			SentToDelivered: Percentiles{f(2), f(3)}, // 1, 2, 3
			SentToReply:     Percentiles{f(20), f(30)}}}},
		{"the first event of a state counts", []BatchFacts{
			batch("b1", "SUAP", domain.BatchDelivered, 1, zero, ev("sent", h(1)), ev("delivered", h(2)), ev("delivered", h(9))),
		}, OfficeReport{Requests: 1, People: 1, Overdue: 1, Turnaround: Turnaround{UploadToSent: Percentiles{f(1), f(1)}, SentToDelivered: Percentiles{f(1), f(1)}}}},
		{"not sent yet", []BatchFacts{
			batch("b1", "SUAP", domain.BatchProtocolled, 4, zero, ev("queued", h(1)), ev("protocolled", h(2))),
		}, OfficeReport{}},
		{"a refusal is a reply", []BatchFacts{
			func() BatchFacts {
				b := batch("b1", "SUAP", domain.BatchFailed, 1, zero, ev("sent", h(1)), ev("delivered", h(2)), ev("failed", h(7)))
				b.Batch.Reason = domain.Because(domain.ReasonProcuraRefused, "refused")
				b.Subjects[0].State, b.Subjects[0].Reason = domain.PersonFailed, domain.Because(domain.ReasonProcuraRefused, "")
				return b
			}(),
		}, OfficeReport{Requests: 1, People: 1, Failed: 1, Turnaround: Turnaround{UploadToSent: Percentiles{f(1), f(1)},
			SentToDelivered: Percentiles{f(1), f(1)}, SentToReply: Percentiles{f(6), f(6)}},
			Failures: []Failure{{Code: domain.ReasonProcuraRefused, Text: domain.ReasonProcuraRefused.Italian(), Requests: 1, People: 1}}}},
		{"failed before sending: a failure, not a request", []BatchFacts{
			func() BatchFacts {
				b := batch("b1", "SUAP", domain.BatchFailed, 2, zero, ev("queued", h(1)), ev("failed", h(2)))
				b.Batch.SendAttempts, b.Batch.Reason = 0, domain.Because(domain.ReasonRegisterRefused, "503")
				return b
			}(),
			func() BatchFacts {
				b := batch("b2", "SUAP", domain.BatchFailed, 1, zero, ev("sent", h(1)), ev("failed", h(2)))
				b.Batch.Reason = domain.Because(domain.ReasonNotDelivered, "")
				b.Subjects[0].State, b.Subjects[0].Reason = domain.PersonFailed, domain.Because(domain.ReasonTransportAttempts, "")
				return b
			}(),
		}, OfficeReport{Requests: 1, People: 1, Failed: 2, Turnaround: Turnaround{UploadToSent: Percentiles{f(1), f(1)}},
			Failures: []Failure{
				{Code: domain.ReasonNotDelivered, Text: domain.ReasonNotDelivered.Italian(), Requests: 1},
				{Code: domain.ReasonRegisterRefused, Text: domain.ReasonRegisterRefused.Italian(), Requests: 1},
				{Code: domain.ReasonTransportAttempts, Text: domain.ReasonTransportAttempts.Italian(), People: 1},
			}}},
		{"an expired upload gives no upload times", []BatchFacts{
			func() BatchFacts {
				b := batch("b1", "SUAP", domain.BatchCompleted, 1, h(30), ev("sent", h(1)), ev("replied", h(20)))
				b.Uploads = map[string]time.Time{}
				return b
			}(),
		}, OfficeReport{Requests: 1, People: 1, Turnaround: Turnaround{SentToReply: Percentiles{f(19), f(19)}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := Compute(Input{From: domain.DateOf(t0), To: domain.DateOf(t0), Now: h(24 * 100),
				Tenants: []TenantInput{{ID: "c_g999", Name: "Comune di Prato", Offices: []Office{{"SUAP", "Sportello unico"}}, Batches: tt.batches}}})
			if len(rep.Tenants) != 1 || len(rep.Tenants[0].Offices) != 1 {
				t.Fatalf("%+v", rep)
			}
			got := rep.Tenants[0].Offices[0]
			tt.want.Office, tt.want.OfficeName = "SUAP", "Sportello unico"
			if tt.want.Failures == nil {
				tt.want.Failures = []Failure{}
			}
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(tt.want)
			if string(a) != string(b) {
				t.Errorf("got  %s\nwant %s", a, b)
			}
		})
	}
}

func TestComputeOverdue(t *testing.T) {
	const day = 24.0
	for _, tt := range []struct {
		name  string
		after time.Duration
		now   time.Time
		evs   []domain.Event
		want  int
	}{
		{"delivered, no reply, past the days", 0, h(11 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1))}, 1},
		{"delivered, no reply, within the days", 0, h(10 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1))}, 0},
		{"exactly at the limit", 0, h(10*day + 1), []domain.Event{ev("sent", h(0)), ev("delivered", h(1))}, 1},
		{"replied in time", 0, h(30 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1)), ev("replied", h(9*day))}, 0},
		{"replied late", 0, h(30 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1)), ev("replied", h(12*day))}, 1},
		{"completed late without replied", 0, h(30 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1)), ev("completed", h(12*day))}, 1},
		{"never delivered", 0, h(30 * day), []domain.Event{ev("sent", h(0)), ev("accepted", h(1))}, 0},
		{"a shorter deployment setting", 48 * time.Hour, h(3 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1))}, 1},
		{"a longer deployment setting", 20 * day * time.Hour, h(15 * day), []domain.Event{ev("sent", h(0)), ev("delivered", h(1))}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := batch("b1", "SUAP", domain.BatchDelivered, 1, time.Time{}, tt.evs...)
			rep := Compute(Input{From: domain.DateOf(t0), To: domain.DateOf(t0), Now: tt.now, OverdueAfter: tt.after,
				Tenants: []TenantInput{{ID: "c_g999", Batches: []BatchFacts{b}}}})
			if got := rep.Tenants[0].Offices[0].Overdue; got != tt.want {
				t.Fatalf("overdue %d, want %d", got, tt.want)
			}
		})
	}
}

func TestComputeOffices(t *testing.T) {
	rep := Compute(Input{From: domain.Date{Year: 2026, Month: 3, Day: 1}, To: domain.Date{Year: 2026, Month: 3, Day: 31},
		Tenants: []TenantInput{{ID: "c_g999", Offices: []Office{{"SUAP", "S"}, {"CONTRATTI", "C"}},
			Batches: []BatchFacts{batch("b1", "GONE", domain.BatchSent, 1, time.Time{}, ev("sent", h(1)))}}}})
	var codes []string
	for _, o := range rep.Tenants[0].Offices {
		codes = append(codes, o.Office)
	}
	if strings.Join(codes, ",") != "SUAP,CONTRATTI,GONE" || rep.From != "2026-03-01" || rep.To != "2026-03-31" {
		t.Fatalf("%+v", rep)
	}
	if rep.Tenants[0].Offices[2].Requests != 1 || rep.Tenants[0].Offices[0].Turnaround.UploadToSent.P50 != nil {
		t.Fatalf("%+v", rep.Tenants[0].Offices)
	}
	b, _ := json.Marshal(rep.Tenants[0].Offices[0].Turnaround.UploadToSent)
	if string(b) != `{"p50":null,"p90":null}` {
		t.Errorf("no value: %s", b)
	}
}

func TestCost(t *testing.T) {
	u := &Usage{From: t0, To: h(24), Source: "test",
		Functions: map[string]FunctionUsage{
			"poll":     {Invocations: 1000, DurationMS: 1000 * 1000, MemoryMB: 512}, // 500 GB-s
			"dispatch": {Invocations: 10, DurationMS: 0, MemoryMB: 512},
		},
		DynamoReadUnits: 1e6, DynamoWriteUnits: 1e6, S3StorageGBMonths: 2}
	u.EstimateCalls()
	if u.KMSRequests != 2020 || u.SecretsCalls != 1010 || len(u.Estimated) != 2 {
		t.Fatalf("estimate %+v", u)
	}
	p := Prices{Region: "r", Date: "d", Source: "s", LambdaGBSecond: 0.01, LambdaRequest: 0.001, DynamoWriteUnit: 1e-6, DynamoReadUnit: 1e-6,
		S3GBMonth: 1, KMSRequest: 0.001, SecretsCall: 0.001, EURPerUSD: 0.5}
	// lambda 1010×0.001 + 500×0.01 = 6.01; dynamo 2; s3 2; kms 2.02; secrets 1.01: 13.04 USD = 6.52 EUR
	for _, tt := range []struct {
		name  string
		usage *Usage
		sent  int
		want  *float64
		basis []string
	}{
		{"per request", u, 4, f(1.63), []string{"test usage", "1010 Lambda invocations, 500.0 GB-s", "total 6.520000 EUR for 4 requests", "KMS requests: 2 per invocation", "not included"}},
		{"nothing sent", u, 0, nil, []string{"No request was sent"}},
		{"no usage", nil, 4, nil, []string{"no usage figure"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cost(tt.usage, p, tt.sent)
			if (c.PerRequestEUR == nil) != (tt.want == nil) || (tt.want != nil && math.Abs(*c.PerRequestEUR-*tt.want) > 1e-9) {
				t.Fatalf("per request %v, want %v: %s", c.PerRequestEUR, tt.want, c.Basis)
			}
			for _, s := range tt.basis {
				if !strings.Contains(c.Basis, s) {
					t.Errorf("basis lacks %q: %s", s, c.Basis)
				}
			}
		})
	}
	// The whole deployment's requests share the cost, not only those shown.
	rep := Compute(Input{From: domain.DateOf(t0), To: domain.DateOf(t0), Usage: u, Prices: p, Sent: 8,
		Tenants: []TenantInput{{ID: "c_g999", Batches: []BatchFacts{batch("b1", "SUAP", domain.BatchSent, 1, time.Time{}, ev("sent", h(1)))}}}})
	if rep.Cost.PerRequestEUR == nil || math.Abs(*rep.Cost.PerRequestEUR-0.815) > 1e-9 {
		t.Fatalf("shared cost %+v", rep.Cost)
	}
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC) // already 1 April in Rome
	for _, tt := range []struct {
		from, to string
		want     [2]string
		code     string
	}{
		{"", "", [2]string{"2026-03-03", "2026-04-01"}, ""},
		{"2026-01-01", "", [2]string{"2026-01-01", "2026-04-01"}, ""},
		{"", "2026-02-10", [2]string{"2026-01-12", "2026-02-10"}, ""},
		{"2026-02-10", "2026-02-10", [2]string{"2026-02-10", "2026-02-10"}, ""},
		{"2026-02-11", "2026-02-10", [2]string{}, domain.EINVALID},
		{"10/02/2026", "", [2]string{}, domain.EINVALID},
		{"", "2026-13-01", [2]string{}, domain.EINVALID},
	} {
		f, to, err := Period(tt.from, tt.to, now)
		if domain.ErrorCode(err) != tt.code || (err == nil && [2]string{f.String(), to.String()} != tt.want) {
			t.Errorf("Period(%q, %q) = %s %s %v, want %v %q", tt.from, tt.to, f, to, err, tt.want, tt.code)
		}
	}
	a, b := Bounds(domain.Date{Year: 2026, Month: 3, Day: 29}, domain.Date{Year: 2026, Month: 3, Day: 29}) // the day clocks go forward
	if a.UTC().Format(time.RFC3339) != "2026-03-28T23:00:00Z" || b.UTC().Format(time.RFC3339) != "2026-03-29T22:00:00Z" {
		t.Errorf("bounds %s %s", a, b)
	}
}
