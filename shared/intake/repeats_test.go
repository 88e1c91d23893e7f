package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/s3docs"
)

// TestRepeatedRequestWarned: a person the same office listed a short while
// ago is taken in again with a warning naming the earlier list; another
// office, a person never listed, or a tenant that turned the warning off
// get none.
func TestRepeatedRequestWarned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	take := func(office, body string) []domain.Subject {
		t.Helper()
		key, ver := f.put(t, "c_g999", office, body, nil)
		if err := f.h.HandleS3(ctx, event(key, ver)); err != nil {
			t.Fatal(err)
		}
		p, _ := s3docs.ParseUploadKey(key)
		subs, err := f.store.SubjectsOfUpload(ctx, "c_g999", p.Upload)
		if err != nil || len(subs) == 0 {
			t.Fatalf("%d subjects, %v", len(subs), err)
		}
		return subs
	}
	rossi := row("Rossi", "Mario", domain.Male, domain.Date{Year: 1980, Month: 1, Day: 1})
	verdi := row("Verdi", "Luca", domain.Male, domain.Date{Year: 1990, Month: 3, Day: 3})

	first := take("SUAP", header+rossi)
	if first[0].Warning != "" {
		t.Fatalf("a first request warned: %q", first[0].Warning)
	}
	again := take("SUAP", header+verdi+rossi)
	if again[0].Warning != "" || !strings.HasPrefix(again[1].Warning, "Già richiesto per questo ufficio in un elenco del ") {
		t.Errorf("second list: %q / %q", again[0].Warning, again[1].Warning)
	}
	if other := take("ACQUISTI", header+rossi); other[0].Warning != "" {
		t.Errorf("another office warned: %q", other[0].Warning)
	}
	f.h.Tenants.Tenants[0].RepeatWarningDays = -1
	if off := take("SUAP", header+rossi); off[0].Warning != "" {
		t.Errorf("warning turned off, still given: %q", off[0].Warning)
	}
}
