package trace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// world is a read-only store of a few items.
type world struct {
	uploads  map[string]domain.Upload
	batches  map[string]domain.Batch
	subjects []domain.Subject
	events   map[string][]domain.Event
	fail     string // the method that fails
}

var errDown = errors.New("store down")

func (w world) err(m string) error {
	if w.fail == m {
		return errDown
	}
	return nil
}

func (w world) GetUpload(_ context.Context, _, id string) (domain.Upload, error) {
	if err := w.err("GetUpload"); err != nil {
		return domain.Upload{}, err
	}
	u, ok := w.uploads[id]
	if !ok {
		return u, domain.Errorf(domain.ENOTFOUND, "no upload %s", id)
	}
	return u, nil
}

func (w world) SubjectsOfUpload(_ context.Context, _, upload string) ([]domain.Subject, error) {
	var out []domain.Subject
	for _, s := range w.subjects {
		if s.Upload == upload {
			out = append(out, s)
		}
	}
	return out, w.err("SubjectsOfUpload")
}

func (w world) GetBatch(_ context.Context, _, id string) (domain.Batch, error) {
	if err := w.err("GetBatch"); err != nil {
		return domain.Batch{}, err
	}
	b, ok := w.batches[id]
	if !ok {
		return b, domain.Errorf(domain.ENOTFOUND, "no batch %s", id)
	}
	return b, nil
}

func (w world) SubjectsOfBatch(_ context.Context, _, batch string) ([]domain.Subject, error) {
	var out []domain.Subject
	for _, s := range w.subjects {
		if s.Batch == batch {
			out = append(out, s)
		}
	}
	return out, w.err("SubjectsOfBatch")
}

func (w world) Events(_ context.Context, _, subject string) ([]domain.Event, error) {
	return w.events[subject], w.err("Events")
}

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

// twoRequests: a list of three people; rows 2 and 3 went in request b1
// (prot. 0000012), row 4 in b2 (not registered yet); a second list u2 also
// has a person in b1.
func twoRequests() world {
	d := domain.Date{Year: 2026, Month: time.December, Day: 2}
	return world{
		uploads: map[string]domain.Upload{
			"u1": {ID: "u1", Office: "SUAP", FileName: "dicembre.xlsx", State: domain.UploadQueued, Counts: domain.Counts{Rows: 4, Valid: 3, Invalid: 1}, CreatedAt: t0},
			"u2": {ID: "u2", Office: "SUAP", FileName: "altro.csv", State: domain.UploadQueued, CreatedAt: t0.Add(-time.Hour)},
		},
		batches: map[string]domain.Batch{
			"b1": {ID: "b1", Office: "SUAP", State: domain.BatchDelivered, Protocol: domain.Protocol{Number: "0000012", Date: d}, CreatedAt: t0.Add(time.Minute)},
			"b2": {ID: "b2", Office: "SUAP", State: domain.BatchFailed, Reason: domain.Because(domain.ReasonProviderRefused, "non-accettazione"), CreatedAt: t0.Add(2 * time.Minute)},
		},
		subjects: []domain.Subject{
			{ID: "u1-2", Upload: "u1", Row: 2, State: domain.PersonCertified, Batch: "b1", Certificate: &domain.Certificate{Outcome: domain.OutcomeNullo}},
			{ID: "u1-3", Upload: "u1", Row: 3, State: domain.PersonBatched, Batch: "b1"},
			{ID: "u1-4", Upload: "u1", Row: 4, State: domain.PersonFailed, Batch: "b2", Reason: domain.Because(domain.ReasonProviderRefused, "x")},
			{ID: "u2-2", Upload: "u2", Row: 2, State: domain.PersonBatched, Batch: "b1"},
		},
		events: map[string][]domain.Event{
			"u1": {
				{State: "received", At: t0},
				{State: "queued", At: t0.Add(time.Second)},
				{State: "certified", About: "u1-2", At: t0.Add(time.Hour)},
				{State: "failed", About: "u1-4", At: t0.Add(time.Hour)},
				{State: "certified", About: "u1-2", Note: domain.NoteDownloaded, At: t0.Add(2 * time.Hour)},
				{State: "pending", About: "u1-9", At: t0.Add(3 * time.Hour)},
			},
			"b1": {
				{State: "queued", At: t0}, {State: "protocolled", At: t0}, {State: "sent", At: t0},
				{State: "sent", Note: domain.NoteTakenInCharge, At: t0}, {State: "delivered", At: t0},
			},
			"b2": {{State: "failed", At: t0}},
		},
	}
}

func TestOfUpload(t *testing.T) {
	l, err := OfUpload(context.Background(), twoRequests(), "c_g999", "u1")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.People) != 3 || len(l.Requests) != 2 || l.Requests[0].Batch.ID != "b1" || l.Requests[0].People != 2 || l.Requests[1].People != 1 {
		t.Fatalf("requests %+v", l.Requests)
	}
	want := []string{
		"Elenco ricevuto",
		"Elenco controllato: 3 persone accettate, 1 riga scartata; in attesa di invio alla Procura",
		"Riga 2: certificato arrivato (nulla) — richiesta prot. n. 0000012 del 02/12/2026",
		"Riga 4: richiesta non riuscita. " + domain.ReasonProviderRefused.Italian(),
		"Riga 2: certificato scaricato — richiesta prot. n. 0000012 del 02/12/2026",
		"Una persona: di nuovo in attesa di invio con la prossima richiesta",
	}
	for i, e := range l.Events {
		if e.Text != want[i] {
			t.Errorf("event %d: %q\n           want %q", i, e.Text, want[i])
		}
	}
}

func TestOfBatch(t *testing.T) {
	s, err := OfBatch(context.Background(), twoRequests(), "c_g999", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.People) != 3 || len(s.Lists) != 2 || s.Lists[0].ID != "u2" || s.Lists[1].ID != "u1" {
		t.Fatalf("lists %+v", s.Lists)
	}
	want := []string{"Richiesta preparata", "Protocollata: prot. n. 0000012 del 02/12/2026", "Inviata alla Procura per PEC",
		"Presa in carico dal gestore PEC della Procura", "Consegnata nella casella PEC della Procura (ricevuta di consegna)"}
	for i, e := range s.Events {
		if e.Text != want[i] {
			t.Errorf("event %d: %q, want %q", i, e.Text, want[i])
		}
	}
	f, err := OfBatch(context.Background(), twoRequests(), "c_g999", "b2")
	if err != nil || f.Events[0].Text != "Non riuscita: "+domain.ReasonProviderRefused.Italian() {
		t.Fatalf("%+v %v", f.Events, err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		fail, of, id string
		code         string
	}{
		{"", "upload", "missing", domain.ENOTFOUND},
		{"", "batch", "missing", domain.ENOTFOUND},
		{"GetUpload", "upload", "u1", ""},
		{"SubjectsOfUpload", "upload", "u1", ""},
		{"Events", "upload", "u1", ""},
		{"GetBatch", "upload", "u1", ""},
		{"GetBatch", "batch", "b1", ""},
		{"SubjectsOfBatch", "batch", "b1", ""},
		{"Events", "batch", "b1", ""},
		{"GetUpload", "batch", "b1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.of+"/"+tt.fail+"/"+tt.id, func(t *testing.T) {
			w := twoRequests()
			w.fail = tt.fail
			var err error
			if tt.of == "upload" {
				_, err = OfUpload(context.Background(), w, "c_g999", tt.id)
			} else {
				_, err = OfBatch(context.Background(), w, "c_g999", tt.id)
			}
			switch {
			case tt.code != "" && domain.ErrorCode(err) != tt.code:
				t.Fatalf("error %v, want %s", err, tt.code)
			case tt.code == "" && !errors.Is(err, errDown):
				t.Fatalf("error %v, want the store's", err)
			}
		})
	}
}

func TestWords(t *testing.T) {
	for _, s := range []domain.UploadState{domain.UploadReceived, domain.UploadQueued, domain.UploadRejected, domain.UploadCompleted} {
		if w := UploadStateText(s); w == string(s) || w == "" {
			t.Errorf("upload state %s has no word", s)
		}
	}
	for _, s := range []domain.BatchState{domain.BatchQueued, domain.BatchProtocolled, domain.BatchSent, domain.BatchAccepted,
		domain.BatchDelivered, domain.BatchReplied, domain.BatchCompleted, domain.BatchFailed} {
		if w := BatchStateText(s); w == string(s) || w == "" {
			t.Errorf("batch state %s has no word", s)
		}
	}
	for _, s := range []domain.PersonState{domain.PersonPending, domain.PersonBatched, domain.PersonCertified, domain.PersonFailed} {
		if w := PersonStateText(s); w == string(s) || w == "" {
			t.Errorf("person state %s has no word", s)
		}
	}
	if BatchStateText("invented") != "invented" {
		t.Error("an unknown state is not shown as it is")
	}
	for _, o := range []domain.Outcome{domain.OutcomeNullo, domain.OutcomePositivo, domain.OutcomeUnknown} {
		if OutcomeText(o) == "" || !strings.HasSuffix(OutcomeHelp(o), ".") {
			t.Errorf("outcome %s: %q %q", o, OutcomeText(o), OutcomeHelp(o))
		}
	}
	if OutcomeText(domain.OutcomeNullo) != "nulla" {
		t.Error("«nulla» is what the certificate says")
	}
	if got := ProtocolText(domain.Protocol{Number: "0000001", Register: "CPEC"}); got != "prot. n. CPEC-0000001" {
		t.Errorf("built-in register's number %q: the letter and the e-mails quote CPEC-0000001", got)
	}
	if ProtocolText(domain.Protocol{}) != "" || ProtocolText(domain.Protocol{Number: "0000001"}) != "prot. n. 0000001" {
		t.Error("ProtocolText")
	}
}
