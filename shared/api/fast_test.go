package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/api"
	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/s3docs/s3docstest"
	"github.com/casellario-pec/casellario/shared/store/memstore"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// The fast tests: the handler over the in-memory store and S3, called in
// process. No server, so go test -short runs them.

// fast is one test's API with its state.
type fast struct {
	st *memstore.Store
	s3 *s3docstest.Env
	h  *api.Handler
}

func newFast(t *testing.T, mod func(*api.Config)) *fast {
	t.Helper()
	f := &fast{st: memstore.New(memstore.Options{}), s3: s3docstest.Open(t, s3docs.Options{})}
	c := api.Config{Store: f.st, Triage: f.st, Docs: f.s3.Docs, Tenants: tenants.Demo(), Auth: issuer.Auth(), Log: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&c)
	}
	f.h = api.New(c)
	return f
}

// do serves one request; authz is the whole Authorization header (empty: none).
func (f *fast) do(t *testing.T, method, path, authz string, body io.Reader, ctype string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func bearer(t *testing.T, u api.User) string { return "Bearer " + token(t, u) }

// apiError reads a JSON error answer.
func apiError(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not a JSON error: %d %s", rec.Code, rec.Body.Bytes())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	return e.Error.Code, e.Error.Message
}

// world is what the fast refusal tests look at: a list of ELETTORALE of
// Prato, its batch and a certified person, a triage item, and the same
// for Vaiano.
type world struct {
	upload, batch, subject, pending, triage, dismissed string
	otherUpload                                        string
}

func (f *fast) world(t *testing.T) world {
	t.Helper()
	ctx := context.Background()
	var w world
	put := func(tenant, office string, n int) string {
		id := domain.NewID()
		must(f.st.CreateUpload(ctx, domain.Upload{ID: id, Tenant: tenant, Office: office, Key: s3docs.UploadKey(tenant, office, id, "csv"),
			SHA256: strings.Repeat("ab", 32)}, domain.CauseUser("x")))
		var people []domain.Subject
		for r := 2; r < n+2; r++ {
			people = append(people, domain.Subject{Row: r, Person: domain.Person{Surname: "FERRI", Name: "GIOVANNA"}})
		}
		if err := f.st.PutSubjects(ctx, tenant, id, people); err != nil {
			t.Fatal(err)
		}
		must(f.st.AdvanceUpload(ctx, tenant, id, domain.UploadQueued, &domain.Counts{Rows: n, Valid: n}, s3docs.ReportKey(tenant, id), domain.Reason{}, domain.CauseUser("x")))
		return id
	}
	w.upload, w.otherUpload = put(prato, "ELETTORALE", 2), put(vaiano, "SUAP", 1)
	if _, err := f.s3.Docs.Put(ctx, f.s3.Docs.Document(s3docs.ReportKey(prato, w.upload)), "application/json", strings.NewReader(`{"summary":{}}`)); err != nil {
		t.Fatal(err)
	}
	w.subject, w.pending = domain.SubjectID(w.upload, 2), domain.SubjectID(w.upload, 3)
	b := must(f.st.CreateBatch(ctx, domain.Batch{ID: domain.NewID(), Tenant: prato, Office: "ELETTORALE", People: []string{w.subject}}, domain.CauseUser("x")))
	must(f.st.ClaimSubjects(ctx, prato, b.ID, domain.CauseUser("x")))
	must(f.st.RegisterProtocol(ctx, domain.ProtocolRequest{Tenant: prato, AOO: "AOO_PRATO", Registry: "CPEC", Batch: b.ID, Date: domain.Date{Year: 2026, Month: 3, Day: 2}, Cause: domain.CauseUser("x")}))
	must(f.st.SetMessageID(ctx, prato, b.ID, "<casellario."+b.ID+"@pec.test>"))
	must(f.st.AdvanceBatch(ctx, domain.BatchChange{Tenant: prato, ID: b.ID, To: domain.BatchSent, Cause: domain.CauseUser("x")}))
	cert := &domain.Certificate{Outcome: domain.OutcomeNullo, Key: s3docs.CertificateKey(prato, b.ID, w.subject), SHA256: strings.Repeat("cd", 32)}
	must(f.st.AdvanceSubject(ctx, domain.SubjectChange{Tenant: prato, ID: w.subject, Batch: b.ID, To: domain.PersonCertified, Certificate: cert, Cause: domain.CauseUser("x")}))
	w.batch = b.ID
	mk := func(key string) string {
		it, _, err := f.st.CreateTriage(ctx, domain.TriageItem{Tenant: prato, Mailbox: "protocollo@pec.comune.prato.test", MessageKey: prato + "/pec/" + key + ".eml",
			Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "test item")})
		if err != nil {
			t.Fatal(err)
		}
		return it.ID
	}
	w.triage, w.dismissed = mk("open"), mk("dismissed")
	must(f.st.DismissTriage(ctx, prato, w.dismissed, "spam", domain.CauseUser("p")))
	return w
}

// TestFastRefusals: every way a request is turned away, with its status,
// code and Italian message, and nothing changed in the store.
func TestFastRefusals(t *testing.T) {
	f := newFast(t, nil)
	w := f.world(t)
	owner, otherOffice, prot := officeUser(prato, "ELETTORALE"), officeUser(prato, "SUAP"), protocolUser(prato)
	claims := func(extra map[string]any) string {
		m := map[string]any{"sub": "x", "tenant": prato, "office": "ELETTORALE", "role": "office"}
		for k, v := range extra {
			m[k] = v
		}
		s, err := issuer.SignClaims(m, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	signedBy := func(iss *api.LocalIssuer, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		s, err := iss.Sign(owner, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	const (
		unauthorized = "Accesso non autorizzato: effettuare di nuovo l'accesso."
		notFound     = "Elemento non trovato."
		notEnabled   = "Utente non abilitato: Comune o ufficio non configurato."
		protocolOnly = "Funzione riservata all'ufficio protocollo."
	)
	expired, err := issuer.Sign(owner, -time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, authz, body string
		status                          int
		code, message                   string
	}{
		{"no token", "GET", "/api/v1/me", "", "", 401, "unauthorized", unauthorized},
		{"basic scheme", "GET", "/api/v1/me", "Basic dXNlcjpwYXNz", "", 401, "unauthorized", unauthorized},
		{"empty bearer", "GET", "/api/v1/uploads", "Bearer ", "", 401, "unauthorized", unauthorized},
		{"garbage", "GET", "/api/v1/me", "Bearer not-a-jwt", "", 401, "unauthorized", unauthorized},
		{"another key", "GET", "/api/v1/me", signedBy(api.NewLocalIssuer("test-issuer", "test-audience")), "", 401, "unauthorized", unauthorized},
		{"expired", "GET", "/api/v1/batches", "Bearer " + expired, "", 401, "unauthorized", unauthorized},
		{"another issuer", "GET", "/api/v1/me", signedBy(api.NewLocalIssuer("another-issuer", "test-audience")), "", 401, "unauthorized", unauthorized},
		{"another audience", "GET", "/api/v1/me", signedBy(api.NewLocalIssuer("test-issuer", "another-audience")), "", 401, "unauthorized", unauthorized},
		{"unknown role", "GET", "/api/v1/me", claims(map[string]any{"role": "admin"}), "", 401, "unauthorized", unauthorized},
		{"office user without office", "GET", "/api/v1/me", claims(map[string]any{"office": ""}), "", 401, "unauthorized", unauthorized},
		{"no tenant", "GET", "/api/v1/me", claims(map[string]any{"tenant": ""}), "", 401, "unauthorized", unauthorized},
		{"unknown tenant", "GET", "/api/v1/me", bearer(t, officeUser("c_x000", "SUAP")), "", 403, "forbidden", notEnabled},
		{"unknown office", "GET", "/api/v1/uploads", bearer(t, officeUser(prato, "NESSUNO")), "", 403, "forbidden", notEnabled},
		{"office user: triage list", "GET", "/api/v1/triage", bearer(t, owner), "", 403, "forbidden", protocolOnly},
		{"office user: triage item", "GET", "/api/v1/triage/" + w.triage, bearer(t, owner), "", 403, "forbidden", protocolOnly},
		{"office user: triage message", "GET", "/api/v1/triage/" + w.triage + "/message", bearer(t, owner), "", 403, "forbidden", protocolOnly},
		{"office user: assign", "POST", "/api/v1/triage/" + w.triage + "/assign", bearer(t, owner), `{"batch":"` + w.batch + `"}`, 403, "forbidden", protocolOnly},
		{"office user: dismiss", "POST", "/api/v1/triage/" + w.triage + "/dismiss", bearer(t, owner), `{"reason":"x","confirm":true}`, 403, "forbidden", protocolOnly},
		{"office user: certificate choice", "POST", "/api/v1/triage/" + w.triage + "/certificate", bearer(t, owner), `{}`, 403, "forbidden", protocolOnly},
		{"another office's upload", "GET", "/api/v1/uploads/" + w.upload, bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's report", "GET", "/api/v1/uploads/" + w.upload + "/report.json", bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's refused rows", "GET", "/api/v1/uploads/" + w.upload + "/refused.csv", bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's batch", "GET", "/api/v1/batches/" + w.batch, bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's certificate", "GET", "/api/v1/certificates/" + w.subject, bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's list", "GET", "/api/v1/uploads?office=ELETTORALE", bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another office's batches", "GET", "/api/v1/batches?office=ELETTORALE", bearer(t, otherOffice), "", 404, "not_found", notFound},
		{"another tenant's upload", "GET", "/api/v1/uploads/" + w.otherUpload, bearer(t, protocolUser(prato)), "", 404, "not_found", notFound},
		{"another tenant: our upload", "GET", "/api/v1/uploads/" + w.upload, bearer(t, protocolUser(vaiano)), "", 404, "not_found", notFound},
		{"another tenant: our batch", "GET", "/api/v1/batches/" + w.batch, bearer(t, protocolUser(vaiano)), "", 404, "not_found", notFound},
		{"another tenant: our certificate", "GET", "/api/v1/certificates/" + w.subject, bearer(t, protocolUser(vaiano)), "", 404, "not_found", notFound},
		{"another tenant: our triage item", "GET", "/api/v1/triage/" + w.triage, bearer(t, protocolUser(vaiano)), "", 404, "not_found", notFound},
		{"unknown upload", "GET", "/api/v1/uploads/" + domain.NewID(), bearer(t, owner), "", 404, "not_found", notFound},
		{"malformed upload id", "GET", "/api/v1/uploads/..%2f..%2fetc", bearer(t, owner), "", 404, "not_found", notFound},
		{"malformed batch id", "GET", "/api/v1/batches/xyz", bearer(t, owner), "", 404, "not_found", notFound},
		{"malformed subject", "GET", "/api/v1/certificates/abc", bearer(t, owner), "", 404, "not_found", notFound},
		{"no certificate yet", "GET", "/api/v1/certificates/" + w.pending, bearer(t, owner), "", 404, "not_found", "Il certificato non è ancora arrivato."},
		{"no refused rows", "GET", "/api/v1/uploads/" + w.upload + "/refused.csv", bearer(t, owner), "", 404, "not_found", "Documento non disponibile per questo elenco."},
		{"unknown route", "GET", "/api/v1/nothing", bearer(t, owner), "", 404, "not_found", "Indirizzo non trovato."},
		{"wrong method", "DELETE", "/api/v1/uploads", bearer(t, owner), "", 405, "method_not_allowed", "Metodo non consentito per questo indirizzo."},
		{"wrong method on an item", "POST", "/api/v1/batches/" + w.batch, bearer(t, owner), "", 405, "method_not_allowed", "Metodo non consentito per questo indirizzo."},
		{"wrong method on the page", "POST", "/", "", "", 405, "method_not_allowed", "Metodo non consentito."},
		{"dev users off", "GET", "/api/v1/dev/users", "", "", 404, "not_found", "Indirizzo non trovato."},
		{"bad triage state", "GET", "/api/v1/triage?state=closed", bearer(t, prot), "", 400, "invalid", "Stato non valido: open, assigned, dismissed o all."},
		{"unknown triage item", "GET", "/api/v1/triage/" + domain.NewID(), bearer(t, prot), "", 404, "not_found", notFound},
		{"malformed triage item", "GET", "/api/v1/triage/nothing/message", bearer(t, prot), "", 404, "not_found", notFound},
		{"protocol office, unknown office", "GET", "/api/v1/uploads?office=NESSUNO", bearer(t, prot), "", 404, "not_found", notFound},
		{"dismiss: not JSON", "POST", "/api/v1/triage/" + w.triage + "/dismiss", bearer(t, prot), `reason=spam`, 400, "invalid", "Richiesta non valida: atteso un oggetto JSON."},
		{"dismiss: unknown field", "POST", "/api/v1/triage/" + w.triage + "/dismiss", bearer(t, prot), `{"motivo":"spam"}`, 400, "invalid", "Richiesta non valida: atteso un oggetto JSON."},
		{"dismiss: no reason", "POST", "/api/v1/triage/" + w.triage + "/dismiss", bearer(t, prot), `{"reason":" ","confirm":true}`, 400, "invalid", "Per archiviare il messaggio indicare il motivo e confermare."},
		{"dismiss: not confirmed", "POST", "/api/v1/triage/" + w.triage + "/dismiss", bearer(t, prot), `{"reason":"spam"}`, 400, "invalid", "Per archiviare il messaggio indicare il motivo e confermare."},
		{"dismiss: unknown item", "POST", "/api/v1/triage/" + domain.NewID() + "/dismiss", bearer(t, prot), `{"reason":"spam","confirm":true}`, 404, "not_found", notFound},
		{"assign: no assigner configured", "POST", "/api/v1/triage/" + w.triage + "/assign", bearer(t, prot), `{"batch":"` + w.batch + `"}`, 500, "internal", "Errore interno. Riprovare più tardi o contattare l'assistenza."},
		{"certificate choice: not a candidate", "POST", "/api/v1/triage/" + w.triage + "/certificate", bearer(t, prot), `{"subject":"` + w.subject + `","sha256":"` + strings.Repeat("cd", 32) + `","reason":"x"}`, 400, "invalid", "Indicare quale dei certificati di questo messaggio vale, e il motivo."},
		{"certificate choice: unknown item", "POST", "/api/v1/triage/" + domain.NewID() + "/certificate", bearer(t, prot), `{}`, 404, "not_found", notFound},
	}
	before := f.snapshot(t, w)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			ctype := ""
			if c.body != "" {
				body, ctype = strings.NewReader(c.body), "application/json"
			}
			rec := f.do(t, c.method, c.path, c.authz, body, ctype)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body.Bytes())
			}
			code, msg := apiError(t, rec)
			if code != c.code || msg != c.message {
				t.Errorf("answer %s %q, want %s %q", code, msg, c.code, c.message)
			}
			if c.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: %v", rec.Header())
			}
		})
	}
	if after := f.snapshot(t, w); after != before {
		t.Errorf("refused requests changed the store:\n%s\n%s", before, after)
	}
}

// snapshot describes the world's state, to show refusals change nothing.
func (f *fast) snapshot(t *testing.T, w world) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, id := range []string{w.upload} {
		up := must(f.st.GetUpload(ctx, prato, id))
		evs := must(f.st.Events(ctx, prato, id))
		b.WriteString(string(up.State) + " " + strconv.Itoa(int(up.Version)) + " events " + strconv.Itoa(len(evs)) + "\n")
	}
	for _, id := range []string{w.triage, w.dismissed} {
		it := must(f.st.GetTriage(ctx, prato, id))
		b.WriteString(string(it.State) + " " + strconv.Itoa(int(it.Version)) + "\n")
	}
	ups := must(f.st.ListUploads(ctx, prato, "ELETTORALE", 0))
	b.WriteString("uploads " + strconv.Itoa(len(ups)) + " objects " + strconv.Itoa(len(f.s3.Keys(t, f.s3.Uploads))) + "\n")
	return b.String()
}

// TestFastUploadErrors: every refusal of an upload, with its message; a
// refused upload leaves nothing behind, an accepted one its record and its
// object.
func TestFastUploadErrors(t *testing.T) {
	office := bearer(t, officeUser(prato, "SUAP"))
	prot := bearer(t, protocolUser(prato))
	big := strings.Repeat("Rossi;Mario;M;01/01/1980;Roma\n", 20)
	mp := func(name, data string, fields map[string]string) func(t *testing.T) (io.Reader, string) {
		return func(t *testing.T) (io.Reader, string) { return multipartList(t, name, []byte(data), fields) }
	}
	raw := func(data, ctype string) func(*testing.T) (io.Reader, string) {
		return func(*testing.T) (io.Reader, string) { return strings.NewReader(data), ctype }
	}
	manual := func(office, number, date string) map[string]string {
		return map[string]string{"office": office, "protocol_number": number, "protocol_date": date}
	}
	cases := []struct {
		name          string
		small         bool // a handler that takes 200 bytes at most
		authz, query  string
		body          func(*testing.T) (io.Reader, string)
		status        int
		code, message string
		uploads       int // uploads recorded for the office after the call
	}{
		{name: "no file part", authz: office, body: mp("", "", map[string]string{"office": "SUAP"}), status: 400, code: "invalid",
			message: "Nessun file allegato: scegliere l'elenco da caricare (campo «file»)."},
		{name: "empty file", authz: office, body: mp("elenco.csv", "  \n", nil), status: 400, code: "invalid", message: "Il file è vuoto."},
		{name: "empty raw body", authz: office, body: raw("", "text/csv"), status: 400, code: "invalid", message: "Il file è vuoto."},
		{name: "broken multipart", authz: office, body: raw("--x\r\nnot a part", "multipart/form-data; boundary=x"), status: 400, code: "invalid",
			message: "Impossibile leggere il file inviato."},
		{name: "multipart without boundary", authz: office, body: raw("x", "multipart/form-data"), status: 400, code: "invalid",
			message: "Richiesta non valida: modulo multipart illeggibile."},
		{name: "too large multipart", small: true, authz: office, body: mp("elenco.csv", "Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n"+big, nil),
			status: 413, code: "too_large", message: "Il file supera la dimensione massima consentita (0 MB)."},
		{name: "too large raw", small: true, authz: office, body: raw(strings.Repeat(big, 10), "text/csv"), status: 413, code: "too_large",
			message: "Il file supera la dimensione massima consentita (0 MB)."},
		{name: "a clerk for another office", authz: office, query: "?office=CONTRATTI", body: mp("elenco.csv", goodAndBad, nil), status: 403, code: "forbidden",
			message: "Si possono caricare elenchi solo per il proprio ufficio."},
		{name: "protocol office without office", authz: prot, body: mp("elenco.csv", goodAndBad, nil), status: 400, code: "invalid",
			message: "Indicare l'ufficio per cui si carica l'elenco."},
		{name: "protocol office, unknown office", authz: prot, body: mp("elenco.csv", goodAndBad, map[string]string{"office": "NESSUNO"}), status: 400, code: "invalid",
			message: "Ufficio non configurato per questo Comune."},
		{name: "bad protocol number", authz: prot, body: mp("elenco.csv", goodAndBad, manual("SUAP", "abc", "2026-01-02")), status: 400, code: "invalid",
			message: `Numero di protocollo "abc" non valido: indicare solo cifre.`},
		{name: "bad protocol date", authz: prot, query: "?office=SUAP&protocol_number=123&protocol_date=02/01/2026", body: mp("elenco.csv", goodAndBad, nil),
			status: 400, code: "invalid", message: `Data di protocollo "02/01/2026" non valida: indicarla come AAAA-MM-GG.`},
		{name: "a clerk may not give a protocol number", authz: office, body: mp("elenco.csv", goodAndBad, manual("", "777", "2026-01-02")), status: 403,
			code: "forbidden", message: domain.ReasonManualNotAllowed.Italian()},
		{name: "unauthenticated", body: mp("elenco.csv", goodAndBad, nil), status: 401, code: "unauthorized",
			message: "Accesso non autorizzato: effettuare di nuovo l'accesso."},
		{name: "the protocol office gives a number", authz: prot, body: mp("elenco.csv", goodAndBad, manual("SUAP", "778", "2026-01-02")), status: 201, uploads: 1},
		{name: "the same number again, same year", authz: prot, body: mp("altro.csv", goodAndBad, manual("SUAP", "0778", "2026-03-04")), status: 409, code: "conflict",
			message: "Il numero di protocollo 0000778 del 2026 è già stato usato per un altro elenco.", uploads: 1},
		{name: "the same number, another year", authz: prot, body: mp("altro.csv", goodAndBad, manual("SUAP", "778", "2027-01-04")), status: 201, uploads: 2},
		{name: "unreadable file, stored with its error", authz: office, body: raw("\x00\x01\x02 binary", "application/octet-stream"), status: 201, uploads: 3},
	}
	f := newFast(t, nil)
	small := newFast(t, func(c *api.Config) { c.Read = namelist.Options{MaxBytes: 200} })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := f
			if c.small {
				g = small
			}
			body, ctype := c.body(t)
			rec := g.do(t, "POST", "/api/v1/uploads"+c.query, c.authz, body, ctype)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body.Bytes())
			}
			if c.code != "" {
				if code, msg := apiError(t, rec); code != c.code || msg != c.message {
					t.Errorf("answer %s %q, want %s %q", code, msg, c.code, c.message)
				}
			} else if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/api/v1/uploads/") {
				t.Errorf("created without a Location: %v", rec.Header())
			}
			ups := must(g.st.ListUploads(context.Background(), prato, "SUAP", 0))
			if objs := g.s3.Keys(t, g.s3.Uploads); len(ups) != c.uploads || len(objs) != c.uploads {
				t.Errorf("%d uploads recorded, %d objects stored; want %d", len(ups), len(objs), c.uploads)
			}
		})
	}
	// The accepted ones, as stored.
	ups := must(f.st.ListUploads(context.Background(), prato, "SUAP", 0))
	if len(ups) != 3 || ups[2].Protocol == nil || ups[2].Protocol.Number != "0000778" || ups[2].UploadedBy != protocolUser(prato).Name ||
		ups[2].State != domain.UploadReceived || ups[2].FileName != "elenco.csv" || ups[0].Protocol != nil {
		t.Fatalf("uploads %+v", ups)
	}
	var ans struct {
		Validation struct {
			Error struct{ Code, Message string }
		}
	}
	rec := f.do(t, "POST", "/api/v1/uploads", office, strings.NewReader("\x00\x01 binary"), "application/octet-stream")
	if json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Validation.Error.Code == "" || ans.Validation.Error.Message == "" {
		t.Errorf("the file-level error of an unreadable file: %s", rec.Body.Bytes())
	}
}

// TestFastTriageAssign: the assign endpoint's refusals before the message is
// handled again (the assigner is not reached), and its answer to checks
// that need an explicit override.
func TestFastTriageAssign(t *testing.T) {
	as := &assigner{}
	f := newFast(t, func(c *api.Config) { c.Assign = as })
	w := f.world(t)
	prot := bearer(t, protocolUser(prato))
	cases := []struct {
		name, item, body string
		checks           []domain.Check
		status           int
		code, message    string
		assigned         bool
	}{
		{name: "no request named", item: w.triage, body: `{}`, status: 400, code: "invalid",
			message: "Indicare la richiesta: il suo numero di protocollo con la data, o sceglierla dall'elenco."},
		{name: "unknown batch", item: w.triage, body: `{"batch":"` + domain.NewID() + `"}`, status: 400, code: "invalid", message: "Nessuna richiesta con questo identificativo."},
		{name: "malformed batch", item: w.triage, body: `{"batch":"b1"}`, status: 400, code: "invalid", message: "Nessuna richiesta con questo identificativo."},
		{name: "number without date", item: w.triage, body: `{"protocol":"CPEC-0000001"}`, status: 400, code: "invalid",
			message: "Indicare il numero di protocollo della richiesta (ad esempio CPEC-0000012) e la sua data."},
		{name: "number of another register", item: w.triage, body: `{"protocol":"XYZ-1","date":"2026-03-02"}`, status: 400, code: "invalid",
			message: `Il registro "XYZ" non è quello delle richieste di questo Comune.`},
		{name: "number on another date", item: w.triage, body: `{"protocol":"CPEC-1","date":"2026-03-03"}`, status: 400, code: "invalid",
			message: "Nessuna richiesta con protocollo n. CPEC-0000001 del 03/03/2026."},
		{name: "unknown item", item: domain.NewID(), body: `{"batch":"` + w.batch + `"}`, status: 404, code: "not_found", message: "Elemento non trovato."},
		{name: "checks fail", item: w.triage, body: `{"batch":"` + w.batch + `"}`, checks: []domain.Check{domain.CheckSender, domain.CheckSignature},
			status: 409, code: "override_required", message: "Il messaggio non supera questi controlli: il mittente certificato non è la Procura; " +
				"la firma del gestore PEC non è verificata. Per attribuirlo comunque confermare e indicare il motivo: la decisione resta nel registro.", assigned: true},
		{name: "by number and date", item: w.triage, body: `{"protocol":"cpec-1","date":"2026-03-02","note":"per numero"}`, status: 200, assigned: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as.calls, as.checks = nil, c.checks
			rec := f.do(t, "POST", "/api/v1/triage/"+c.item+"/assign", prot, strings.NewReader(c.body), "application/json")
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body.Bytes())
			}
			if c.code != "" {
				if code, msg := apiError(t, rec); code != c.code || msg != c.message {
					t.Errorf("answer %s %q, want %s %q", code, msg, c.code, c.message)
				}
			}
			if (len(as.calls) > 0) != c.assigned || c.assigned && as.calls[0] != c.item+" "+w.batch {
				t.Errorf("assigner called %v", as.calls)
			}
		})
	}
	it := must(f.st.GetTriage(context.Background(), prato, w.triage))
	if it.State != domain.TriageAssigned || it.Batch != w.batch || it.Note != "per numero" || it.Cause != domain.CauseUser(protocolUser(prato).Name) {
		t.Fatalf("item after the assignment: %+v", it)
	}
}

// assigner stands in for poll's reprocessing: it records the calls and
// fails the checks it is told to, else marks the item assigned.
type assigner struct {
	checks []domain.Check
	calls  []string
}

func (a *assigner) Assign(ctx context.Context, tenant, id, batch string, o domain.Override, cause domain.Cause) (domain.AssignResult, error) {
	a.calls = append(a.calls, id+" "+batch)
	if len(a.checks) > 0 && !o.Confirm {
		return domain.AssignResult{}, &domain.ChecksFailed{Checks: a.checks}
	}
	return domain.AssignResult{Item: domain.TriageItem{ID: id, Tenant: tenant, State: domain.TriageAssigned, Batch: batch}}, nil
}

// TestFastCertificateLink: a certificate's link is presigned, names no
// person, downloads the PDF (through gofakes3 in process) and leaves one
// audit event.
func TestFastCertificateLink(t *testing.T) {
	f := newFast(t, nil)
	w := f.world(t)
	ctx := context.Background()
	sub := must(f.st.GetSubject(ctx, prato, w.subject))
	pdf := []byte("%PDF-1.4 certificato")
	if _, err := f.s3.Docs.Put(ctx, f.s3.Docs.Document(sub.Certificate.Key), "application/pdf", bytes.NewReader(pdf)); err != nil {
		t.Fatal(err)
	}
	rec := f.do(t, "GET", "/api/v1/certificates/"+w.subject, bearer(t, officeUser(prato, "ELETTORALE")), nil, "")
	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
		Outcome   string    `json:"outcome"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &link) != nil || link.Outcome != "nullo" {
		t.Fatalf("certificate: %d %s", rec.Code, rec.Body.Bytes())
	}
	if strings.Contains(strings.ToUpper(link.URL), "FERRI") || time.Until(link.ExpiresAt) > 6*time.Minute {
		t.Errorf("link %+v", link)
	}
	res, err := f.s3.HTTP.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, pdf) {
		t.Fatalf("download: %d %q", res.StatusCode, got)
	}
	n := 0
	for _, e := range must(f.st.Events(ctx, prato, w.upload)) {
		if e.Note == domain.NoteDownloaded && e.About == w.subject && e.Cause == domain.CauseUser(officeUser(prato, "ELETTORALE").Name) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d download events, want 1", n)
	}
}

// TestFastRequestsOfAComune: the protocol office sees the batches and
// uploads of every office; a clerk only its own.
func TestFastRequestsOfAComune(t *testing.T) {
	f := newFast(t, nil)
	w := f.world(t)
	cases := []struct {
		name  string
		user  api.User
		path  string
		count int
	}{
		{"clerk's batches", officeUser(prato, "ELETTORALE"), "/api/v1/batches", 1},
		{"another clerk's", officeUser(prato, "SUAP"), "/api/v1/batches", 0},
		{"protocol office's", protocolUser(prato), "/api/v1/batches", 1},
		{"protocol office, one office", protocolUser(prato), "/api/v1/batches?office=SUAP", 0},
		{"another Comune's", protocolUser(vaiano), "/api/v1/batches", 0},
		{"clerk's uploads", officeUser(prato, "ELETTORALE"), "/api/v1/uploads", 1},
		{"protocol office's uploads", protocolUser(prato), "/api/v1/uploads?office=ELETTORALE", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := f.do(t, "GET", c.path, bearer(t, c.user), nil, "")
			var page struct {
				Batches, Uploads []map[string]any
				Next             string
			}
			if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
				t.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
			}
			out := map[string][]map[string]any{"batches": page.Batches, "uploads": page.Uploads}
			n := len(out["batches"]) + len(out["uploads"])
			if n != c.count {
				t.Fatalf("%d items, want %d: %s", n, c.count, rec.Body.Bytes())
			}
			if n > 0 && out["batches"] != nil && out["batches"][0]["id"] != w.batch {
				t.Errorf("batch %v", out["batches"][0])
			}
		})
	}
}

// TestFastConfig: GET /config says how the page signs in (null without a
// complete OAuth2 client) and what its footer links to, as the document
// says; the page's policy lets it fetch from itself, the token endpoint and
// the buckets' origins only.
func TestFastConfig(t *testing.T) {
	d := loadDoc(t)
	signIn := api.SignIn{ClientID: "client-id", AuthorizeURL: "https://auth.example.test/oauth2/authorize",
		TokenURL: "https://auth.example.test/oauth2/token"}
	links := api.Links{Accessibility: "https://comune.example.test/accessibilita", Privacy: "https://comune.example.test/privacy"}
	tests := []struct {
		name string
		mod  func(*api.Config)
		want string
	}{
		{"nothing configured", nil, `{"dev":false,"auth":null,"links":{"accessibility":"","privacy":"","legal":""},"direct_upload_max":4194304}`},
		{"half a client", func(c *api.Config) { c.SignIn = api.SignIn{ClientID: "client-id"} },
			`{"dev":false,"auth":null,"links":{"accessibility":"","privacy":"","legal":""},"direct_upload_max":4194304}`},
		{"sign-in and links", func(c *api.Config) {
			c.SignIn, c.Links, c.ConnectOrigins = signIn, links, []string{api.Origin(signIn.TokenURL)}
		}, `{"dev":false,"auth":{"client_id":"client-id","authorize_url":"https://auth.example.test/oauth2/authorize",` +
			`"token_url":"https://auth.example.test/oauth2/token"},"links":{"accessibility":"https://comune.example.test/accessibilita",` +
			`"privacy":"https://comune.example.test/privacy","legal":""},"direct_upload_max":4194304}`},
		{"local run", func(c *api.Config) { c.DevUsers = func() []api.DevUser { return nil } },
			`{"dev":true,"auth":null,"links":{"accessibility":"","privacy":"","legal":""},"direct_upload_max":4194304}`},
		{"a lower direct limit", func(c *api.Config) { c.DirectUploadMax = 1024 },
			`{"dev":false,"auth":null,"links":{"accessibility":"","privacy":"","legal":""},"direct_upload_max":1024}`},
	}
	for _, tt := range tests {
		f := newFast(t, tt.mod)
		rec := f.do(t, "GET", "/api/v1/config", "", nil, "")
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != tt.want {
			t.Errorf("%s: %d %s; want %s", tt.name, rec.Code, rec.Body, tt.want)
			continue
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if err := conform(d, map[string]any{"$ref": "#/components/schemas/Config"}, v, tt.name); err != nil {
			t.Error(err)
		}
	}

	f := newFast(t, func(c *api.Config) { c.SignIn, c.ConnectOrigins = signIn, []string{api.Origin(signIn.TokenURL)} })
	s3 := api.Origin(s3docstest.Endpoint)
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		rec := f.do(t, "GET", path, "", nil, "")
		csp := rec.Header().Get("Content-Security-Policy")
		want := "connect-src 'self' https://auth.example.test " + s3 + ";"
		if rec.Code != 200 || !strings.Contains(csp, want) || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "base-uri 'none'") || !strings.Contains(csp, "default-src 'self';") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: %d, policy %q; want %q in it", path, rec.Code, csp, want)
		}
	}
	for in, want := range map[string]string{"https://Auth.Example.test:8443/oauth2/token?x=1": "https://auth.example.test:8443",
		"http://127.0.0.1:9000/bucket/key": "http://127.0.0.1:9000", "javascript:alert(1)": "", "https://": "", "": "",
		"https://user@host.example.test/": ""} {
		if got := api.Origin(in); got != want {
			t.Errorf("Origin(%q) = %q, want %q", in, got, want)
		}
	}
}
