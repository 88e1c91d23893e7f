package localrun

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// TestAPIServed: the run serves the offices' API, lists its demo users in
// endpoints.json and at /api/v1/dev/users, and their tokens work.
func TestAPIServed(t *testing.T) {
	needs.Server(t, needs.LocalRun)
	dir := t.TempDir()
	run, err := Start(context.Background(), Options{DataDir: dir, InMemory: true, DispatchEvery: -1, PollEvery: -1, ProcuraDelay: time.Hour,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	ep, err := ReadEndpoints(filepath.Join(dir, EndpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	// Demo tenants: Prato 8 offices, Vaiano 2, plus one protocol user each.
	if ep.API == "" || len(ep.Users) != 12 {
		t.Fatalf("endpoints.json: api %q, %d users", ep.API, len(ep.Users))
	}
	resp, err := http.Get(ep.API + "/api/v1/dev/users")
	if err != nil {
		t.Fatal(err)
	}
	var listed []User
	_ = json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	if len(listed) != 12 {
		t.Errorf("dev users: %d", len(listed))
	}
	roles := map[string]int{}
	for _, u := range ep.Users {
		roles[u.Role]++
		req, _ := http.NewRequest("GET", ep.API+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s: /me %d", u.Name, r.StatusCode)
		}
	}
	if roles["office"] != 10 || roles["protocol"] != 2 {
		t.Errorf("roles %v", roles)
	}
}
