package report

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// fakeSource is a store of hand-made batches; err, when set, fails the named method.
type fakeSource struct {
	batches  map[string][]domain.Batch
	subjects map[string][]domain.Subject
	uploads  map[string]domain.Upload
	asked    [][2]time.Time
	err      map[string]error
}

func (f *fakeSource) BatchesCreated(_ context.Context, tenant string, from, to time.Time) ([]domain.Batch, error) {
	f.asked = append(f.asked, [2]time.Time{from, to})
	return f.batches[tenant], f.err["batches"]
}
func (f *fakeSource) Events(_ context.Context, _, id string) ([]domain.Event, error) {
	return []domain.Event{{State: "sent", At: t0}}, f.err["events"]
}
func (f *fakeSource) SubjectsOfBatch(_ context.Context, _, id string) ([]domain.Subject, error) {
	return f.subjects[id], f.err["subjects"]
}
func (f *fakeSource) GetUpload(_ context.Context, _, id string) (domain.Upload, error) {
	if err := f.err["upload"]; err != nil {
		return domain.Upload{}, err
	}
	u, ok := f.uploads[id]
	if !ok {
		return u, domain.Errorf(domain.ENOTFOUND, "upload %s", id)
	}
	return u, nil
}

func TestGather(t *testing.T) {
	up, gone := domain.NewID(), domain.NewID()
	src := func() *fakeSource {
		return &fakeSource{
			batches: map[string][]domain.Batch{
				"c_g999": {{ID: "b1", Office: "SUAP", State: domain.BatchSent, People: []string{up + "-2", gone + "-2"}},
					{ID: "b2", Office: "SUAP", State: domain.BatchQueued}},
				"c_l537": {{ID: "b3", Office: "X", State: domain.BatchCompleted}, {ID: "b4", State: domain.BatchFailed, SendAttempts: 1}},
			},
			subjects: map[string][]domain.Subject{"b1": {{ID: up + "-2", Upload: up, Batch: "b1"}, {ID: gone + "-2", Upload: gone, Batch: "b1"}}},
			uploads:  map[string]domain.Upload{up: {ID: up, CreatedAt: t0}},
		}
	}
	march := Query{From: domain.Date{Year: 2026, Month: 3, Day: 1}, To: domain.Date{Year: 2026, Month: 3, Day: 31}}
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		q       Query
		fail    map[string]error
		code    string
		tenants []string
		sent    int
	}{
		{"all tenants", march, nil, "", []string{"c_g999", "c_l537"}, 3},
		{"one shown, all counted", Query{From: march.From, To: march.To, Tenants: []string{"c_g999"}}, nil, "", []string{"c_g999"}, 3},
		{"unknown tenant", Query{From: march.From, To: march.To, Tenants: []string{"c_x000"}}, nil, domain.ENOTFOUND, nil, 0},
		{"from after to", Query{From: march.To, To: march.From}, nil, domain.EINVALID, nil, 0},
		{"batches fail", march, map[string]error{"batches": boom}, domain.EINTERNAL, nil, 0},
		{"events fail", march, map[string]error{"events": boom}, domain.EINTERNAL, nil, 0},
		{"subjects fail", march, map[string]error{"subjects": boom}, domain.EINTERNAL, nil, 0},
		{"uploads fail", march, map[string]error{"upload": boom}, domain.EINTERNAL, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := src()
			s.err = tt.fail
			in, err := Gather(context.Background(), s, tenants.Demo(), tt.q)
			if domain.ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if err != nil {
				return
			}
			var got []string
			for _, ti := range in.Tenants {
				got = append(got, ti.ID)
			}
			if len(got) != len(tt.tenants) || got[0] != tt.tenants[0] || in.Sent != tt.sent {
				t.Fatalf("tenants %v sent %d", got, in.Sent)
			}
			b1 := in.Tenants[0].Batches[0]
			if len(in.Tenants[0].Offices) == 0 || len(b1.Subjects) != 2 || len(b1.Uploads) != 1 || !b1.Uploads[up].Equal(t0) {
				t.Fatalf("facts %+v", b1)
			}
			from, to := Bounds(tt.q.From, tt.q.To)
			if !s.asked[0][0].Equal(from) || !s.asked[0][1].Equal(to) {
				t.Errorf("asked %v", s.asked[0])
			}
		})
	}
}
