// Package report computes the turnaround and cost report the protocol office
// and the IT staff read: per Comune and office, for a period, the requests
// sent to the Procura and their people, how long each step took (median and
// 90th percentile), the requests overdue, the failures by reason, and the
// cost per request estimated from what the deployment used.
//
// Compute is pure: its Input is what Gather read from the store (batches
// created in the period, their events and subjects, the creation times of
// their uploads) and a Usage figure (CloudWatch in AWS, the local run's own
// counts locally). Nothing here logs or returns personal data: only ids,
// codes, counts and times.
//
// # Definitions
//
//   - Period: the days From..To inclusive, in Rome's time; a request belongs to
//     it by the time it was created (dispatch gathered its people).
//   - A request was sent when its state is sent or later, or it failed after a
//     submission to the provider had started (Batch.SendAttempts > 0).
//   - sent: the first event of the batch in a state at or past sent;
//     delivered: the first "delivered" event; reply: the first "replied" or
//     "completed" event, else the "failed" event of a refusal by the Procura.
//   - upload_to_sent and upload_to_certified are per person (the upload's
//     created_at to the request's sent event, to the certificate's
//     received_at); sent_to_delivered and sent_to_reply are per request.
//   - Percentiles are nearest-rank: the p-th of n sorted values is the one at
//     rank ceil(p/100 × n). No value: null.
//   - Overdue: a request delivered, whose reply did not come within
//     OverdueAfter of the delivery (late, or not yet), once that time has
//     passed at Now: the requests poll alerted about (poll.DefaultOverdueAfter,
//     CASELLARIO_OVERDUE_AFTER).
//   - Failed: requests of the period in state failed, by their reason code;
//     failed people of the period's requests by theirs.
package report

import (
	"math"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // Europe/Rome on any machine

	"github.com/casellario-pec/casellario/shared/domain"
)

// DefaultOverdueAfter is poll's default (poll.DefaultOverdueAfter; a test
// keeps them equal): report does not import the handler.
const DefaultOverdueAfter = 10 * 24 * time.Hour

// Rome is where the days of a period begin and end.
var Rome = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()

// Bounds returns the instants a period of days covers: [from 00:00, to+1 00:00) in Rome.
func Bounds(from, to domain.Date) (time.Time, time.Time) {
	return time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, Rome), time.Date(to.Year, to.Month, to.Day+1, 0, 0, 0, 0, Rome)
}

// Office is an office as the tenants configuration names it.
type Office struct {
	Code, Name string
}

// BatchFacts is one request with what the store keeps about it.
type BatchFacts struct {
	Batch    domain.Batch
	Events   []domain.Event   // filed under the batch
	Subjects []domain.Subject // of the batch
	// Uploads gives the created_at of each upload the subjects came from.
	Uploads map[string]time.Time
}

// TenantInput is one Comune's requests of the period.
type TenantInput struct {
	ID, Name string
	Offices  []Office // configured, in order; offices found only in batches follow
	Batches  []BatchFacts
}

// Input is everything Compute reads.
type Input struct {
	From, To     domain.Date
	Now          time.Time
	OverdueAfter time.Duration // 0: DefaultOverdueAfter
	Tenants      []TenantInput
	// Sent is the number of requests the whole deployment sent in the
	// period (every tenant's, also those not shown): the cost is shared by
	// all of them. 0: the requests of Tenants.
	Sent   int
	Usage  *Usage // nil: no cost figure
	Prices Prices // zero: EUSouth1
}

// Report is the JSON contract of `casellario report --json` and of GET /api/v1/report.
type Report struct {
	From    string         `json:"from"`
	To      string         `json:"to"`
	Tenants []TenantReport `json:"tenants"`
	Cost    Cost           `json:"cost"`
}

// TenantReport is one Comune.
type TenantReport struct {
	Tenant     string         `json:"tenant"`
	TenantName string         `json:"tenant_name"`
	Offices    []OfficeReport `json:"offices"`
}

// OfficeReport is one office of a Comune.
type OfficeReport struct {
	Office     string     `json:"office"`
	OfficeName string     `json:"office_name"`
	Requests   int        `json:"requests"`
	People     int        `json:"people"`
	Turnaround Turnaround `json:"turnaround_hours"`
	Overdue    int        `json:"overdue"`
	Failed     int        `json:"failed"`
	Failures   []Failure  `json:"failures"`
}

// Turnaround is in hours.
type Turnaround struct {
	UploadToSent      Percentiles `json:"upload_to_sent"`
	SentToDelivered   Percentiles `json:"sent_to_delivered"`
	SentToReply       Percentiles `json:"sent_to_reply"`
	UploadToCertified Percentiles `json:"upload_to_certified"`
}

// Percentiles are nil when there is no value.
type Percentiles struct {
	P50 *float64 `json:"p50"`
	P90 *float64 `json:"p90"`
}

// Failure counts the failed requests and people of one reason.
type Failure struct {
	Code     domain.ReasonCode `json:"code"`
	Text     string            `json:"text"` // Italian, as the offices read it
	Requests int               `json:"requests"`
	People   int               `json:"people"`
}

// Cost is the estimated cost per request sent, in euro; nil when it cannot
// be estimated (no usage figure, no request). Basis says from what.
type Cost struct {
	PerRequestEUR *float64 `json:"per_request_eur"`
	Basis         string   `json:"basis"`
}

// Compute builds the report (see the package doc).
func Compute(in Input) Report {
	after := in.OverdueAfter
	if after <= 0 {
		after = DefaultOverdueAfter
	}
	rep := Report{From: in.From.String(), To: in.To.String(), Tenants: []TenantReport{}}
	sent := 0
	for _, t := range in.Tenants {
		tr := TenantReport{Tenant: t.ID, TenantName: t.Name, Offices: []OfficeReport{}}
		byOffice := map[string][]BatchFacts{}
		order := []Office{}
		for _, o := range t.Offices {
			order = append(order, o)
			byOffice[o.Code] = nil
		}
		for _, b := range t.Batches {
			if _, ok := byOffice[b.Batch.Office]; !ok {
				order = append(order, Office{Code: b.Batch.Office})
			}
			byOffice[b.Batch.Office] = append(byOffice[b.Batch.Office], b)
		}
		for _, o := range order {
			or := office(o, byOffice[o.Code], in.Now, after)
			sent += or.Requests
			tr.Offices = append(tr.Offices, or)
		}
		rep.Tenants = append(rep.Tenants, tr)
	}
	if in.Sent > 0 {
		sent = in.Sent
	}
	prices := in.Prices
	if prices == (Prices{}) {
		prices = EUSouth1
	}
	rep.Cost = cost(in.Usage, prices, sent)
	return rep
}

// Sent reports whether a request reached the provider (see the package doc).
func Sent(b domain.Batch) bool {
	switch b.State {
	case domain.BatchSent, domain.BatchAccepted, domain.BatchDelivered, domain.BatchReplied, domain.BatchCompleted:
		return true
	case domain.BatchFailed:
		return b.SendAttempts > 0
	}
	return false
}

// pastSent are the states at or past sent.
var pastSent = []string{string(domain.BatchSent), string(domain.BatchAccepted), string(domain.BatchDelivered),
	string(domain.BatchReplied), string(domain.BatchCompleted)}

// first returns the time of the earliest change to one of states (notes,
// filed in the state the batch is in, mark no change).
func first(evs []domain.Event, states ...string) (time.Time, bool) {
	var at time.Time
	for _, e := range evs {
		if e.Note == "" && slices.Contains(states, e.State) && (at.IsZero() || e.At.Before(at)) {
			at = e.At
		}
	}
	return at, !at.IsZero()
}

func office(o Office, batches []BatchFacts, now time.Time, after time.Duration) OfficeReport {
	or := OfficeReport{Office: o.Code, OfficeName: o.Name, Failures: []Failure{}}
	var uploadToSent, sentToDelivered, sentToReply, uploadToCertified []float64
	failures := map[domain.ReasonCode]*Failure{}
	fail := func(c domain.ReasonCode) *Failure {
		if c == "" {
			c = domain.ReasonOther
		}
		if failures[c] == nil {
			failures[c] = &Failure{Code: c, Text: c.Italian()}
		}
		return failures[c]
	}
	for _, bf := range batches {
		b := bf.Batch
		if b.State == domain.BatchFailed {
			or.Failed++
			fail(b.Reason.Code).Requests++
		}
		for _, s := range bf.Subjects {
			if s.State == domain.PersonFailed && s.Batch == b.ID {
				fail(s.Reason.Code).People++
			}
		}
		if !Sent(b) {
			continue
		}
		or.Requests++
		or.People += len(b.People)
		sentAt, okSent := first(bf.Events, pastSent...)
		deliveredAt, okDelivered := first(bf.Events, string(domain.BatchDelivered))
		replyAt, okReply := first(bf.Events, string(domain.BatchReplied), string(domain.BatchCompleted))
		if !okReply && b.State == domain.BatchFailed && b.Reason.Code == domain.ReasonProcuraRefused {
			replyAt, okReply = first(bf.Events, string(domain.BatchFailed))
		}
		if okSent {
			if okDelivered {
				sentToDelivered = append(sentToDelivered, hours(deliveredAt.Sub(sentAt)))
			}
			if okReply {
				sentToReply = append(sentToReply, hours(replyAt.Sub(sentAt)))
			}
		}
		if okDelivered && !now.Before(deliveredAt.Add(after)) && (!okReply || replyAt.Sub(deliveredAt) > after) {
			or.Overdue++
		}
		for _, s := range bf.Subjects {
			created, ok := bf.Uploads[s.Upload]
			if !ok {
				continue
			}
			if okSent && slices.Contains(b.People, s.ID) {
				uploadToSent = append(uploadToSent, hours(sentAt.Sub(created)))
			}
			if s.Certificate != nil && s.Batch == b.ID && !s.Certificate.ReceivedAt.IsZero() {
				uploadToCertified = append(uploadToCertified, hours(s.Certificate.ReceivedAt.Sub(created)))
			}
		}
	}
	or.Turnaround = Turnaround{UploadToSent: percentiles(uploadToSent), SentToDelivered: percentiles(sentToDelivered),
		SentToReply: percentiles(sentToReply), UploadToCertified: percentiles(uploadToCertified)}
	for _, f := range failures {
		or.Failures = append(or.Failures, *f)
	}
	sort.Slice(or.Failures, func(i, j int) bool { return or.Failures[i].Code < or.Failures[j].Code })
	return or
}

func hours(d time.Duration) float64 { return d.Hours() }

// percentiles returns the nearest-rank median and 90th percentile.
func percentiles(v []float64) Percentiles {
	at := func(p float64) *float64 {
		x, ok := Percentile(v, p)
		if !ok {
			return nil
		}
		return &x
	}
	return Percentiles{P50: at(50), P90: at(90)}
}

// Percentile is the nearest-rank p-th percentile of v (false when v is empty).
func Percentile(v []float64, p float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	r := int(math.Ceil(p / 100 * float64(len(s))))
	if r < 1 {
		r = 1
	}
	return s[r-1], true
}
