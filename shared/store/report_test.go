package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

func TestBatchesCreated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	var at []time.Time
	for i := 0; i < 4; i++ {
		u := f.queuedUpload(t, []string{"SUAP", "CONTRATTI"}[i%2], 1)
		f.mu.Lock()
		f.at = f.at.Add(time.Hour) // one batch an hour
		f.mu.Unlock()
		b := must[domain.Batch](t)(f.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: tenant, Office: u.Office,
			People: []string{domain.SubjectID(u.ID, 2)}}, domain.CauseUser("test")))
		ids, at = append(ids, b.ID), append(at, b.CreatedAt)
	}
	for _, tt := range []struct {
		name     string
		tenant   string
		from, to time.Time
		want     []string
		code     string
	}{
		{"all", tenant, at[0], at[3].Add(time.Second), ids, ""},
		{"the end is left out", tenant, at[0], at[3], ids[:3], ""},
		{"the middle", tenant, at[1].Add(-time.Minute), at[2].Add(time.Minute), ids[1:3], ""},
		{"before any", tenant, at[0].Add(-48 * time.Hour), at[0].Add(-24 * time.Hour), nil, ""},
		{"another tenant", "c_l537", at[0], at[3].Add(time.Second), nil, ""},
		{"empty span", tenant, at[1], at[1], nil, domain.EINVALID},
		{"backwards", tenant, at[2], at[1], nil, domain.EINVALID},
		{"bad tenant", "c#x", at[0], at[3], nil, domain.EINVALID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.BatchesCreated(ctx, tt.tenant, tt.from, tt.to)
			code(t, err, tt.code)
			if len(got) != len(tt.want) {
				t.Fatalf("%d batches, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i] {
					t.Fatalf("batch %d is %s, want %s (oldest first)", i, got[i].ID, tt.want[i])
				}
			}
		})
	}
}
