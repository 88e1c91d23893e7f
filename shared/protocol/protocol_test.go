package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/inproc"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

var day = domain.Date{Year: 2026, Month: time.November, Day: 25}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"12345", "0012345", true},
		{" 0012345 ", "0012345", true},
		{"123456789", "123456789", true},
		{"0000000", "", false},
		{"12a45", "", false},
		{"", "", false},
		{"-12", "", false},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestManual(t *testing.T) {
	tests := []struct {
		name   string
		manual *domain.Protocol
		want   string
	}{
		{"given", &domain.Protocol{Number: "777", Date: day}, "0000777"},
		{"missing", nil, ""},
		{"no date", &domain.Protocol{Number: "777"}, ""},
		{"letters", &domain.Protocol{Number: "A77", Date: day}, ""},
	}
	for _, tt := range tests {
		got, err := Manual{}.Register(context.Background(), Request{BatchID: "b1", Manual: tt.manual})
		if tt.want == "" {
			if err == nil || IsTemporary(err) {
				t.Errorf("%s: want a permanent error, got %v %v", tt.name, got, err)
			}
			continue
		}
		if err != nil || got.Number != tt.want || got.Date != day {
			t.Errorf("%s: got %+v %v", tt.name, got, err)
		}
	}
}

func TestHTTP(t *testing.T) {
	var seen httpRequest
	var headers http.Header
	mux := http.NewServeMux()
	answer := func(code int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			headers = r.Header.Clone()
			_ = json.NewDecoder(r.Body).Decode(&seen)
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	mux.Handle("/ok", answer(201, `{"number":"4242","date":"2026-11-25"}`))
	mux.Handle("/busy", answer(503, `{"error":"maintenance"}`))
	mux.Handle("/limited", answer(429, ``))
	mux.Handle("/refused", answer(422, `{"error":"AOO unknown"}`))
	mux.Handle("/garbage", answer(200, `<html>`))
	mux.Handle("/badnumber", answer(200, `{"number":"12-3","date":"2026-11-25"}`))
	mux.Handle("/nodate", answer(200, `{"number":"123"}`))
	mux.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a gone client only once the body is read
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	// The register served on loopback (skipped by go test -short) and in process.
	servers := []struct {
		name   string
		url    func(t *testing.T) string
		client *http.Client
	}{
		{"loopback", func(t *testing.T) string {
			needs.Server(t, needs.Loopback)
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			return srv.URL
		}, nil},
		{"in process", func(*testing.T) string { return "http://register.test" }, inproc.Client(mux)},
	}
	req := Request{Tenant: "c_g999", AOO: "aoo1", Registry: "REG", BatchID: "batch-1", Subject: "Richiesta",
		Recipient: "casellario@pec.procura.prato.test", Documents: []Document{{"richiesta.pdf", "ab"}}}
	tests := []struct {
		path      string
		want      string
		temporary bool
		errWord   string
	}{
		{"/ok", "0004242", false, ""},
		{"/busy", "", true, "maintenance"},
		{"/limited", "", true, "429"},
		{"/refused", "", false, "AOO unknown"},
		{"/garbage", "", false, "malformed"},
		{"/badnumber", "", false, "invalid number"},
		{"/nodate", "", false, "no date"},
		{"/slow", "", true, "unreachable"},
	}
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			base := sv.url(t)
			for _, tt := range tests {
				t.Run(tt.path, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
					defer cancel()
					got, err := HTTP{URL: base + tt.path, Token: "secret", Client: sv.client}.Register(ctx, req)
					if tt.want != "" {
						if err != nil || got.Number != tt.want || got.Date != day {
							t.Fatalf("got %+v %v", got, err)
						}
						if headers.Get("Idempotency-Key") != "batch-1" || headers.Get("Authorization") != "Bearer secret" ||
							seen.Direction != "partenza" || seen.Documents[0].Name != "richiesta.pdf" || seen.Tenant != "c_g999" {
							t.Errorf("request not as documented: %v %+v", headers, seen)
						}
						return
					}
					var pe *Error
					if !errors.As(err, &pe) || IsTemporary(err) != tt.temporary || !strings.Contains(err.Error(), tt.errWord) {
						t.Fatalf("error %v (temporary %v), want temporary=%v containing %q", err, IsTemporary(err), tt.temporary, tt.errWord)
					}
				})
			}
		})
	}
	if _, err := (HTTP{URL: "://bad"}).Register(context.Background(), req); err == nil || IsTemporary(err) {
		t.Errorf("bad URL: %v", err)
	}
}
