package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/api"
)

// One chain from the handler to API Gateway: the routes the handler serves
// without a token, the operations openapi.json documents with `security: []`,
// and the routes the stack leaves without the authorizer are the same set.
// A route public in the handler but behind the authorizer in AWS is a page that
// cannot sign in; the other way round is an open door.
func TestPublicRoutesChain(t *testing.T) {
	const localOnly = "GET /api/v1/dev/users" // the local run's demo users: never registered in AWS
	var handler []string
	for _, r := range api.New(api.Config{}).Routes() {
		if r.Public {
			handler = append(handler, r.Method+" "+r.Path)
		}
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Security *[]any `json:"security"`
			}
			if json.Unmarshal(raw, &op) == nil && op.Security != nil && len(*op.Security) == 0 {
				if k := strings.ToUpper(method) + " " + path; k != localOnly {
					documented = append(documented, k)
				}
			}
		}
	}
	var stack []string
	for _, r := range PublicRoutes {
		if strings.HasPrefix(r, "GET /api/") {
			stack = append(stack, r)
		}
	}
	slices.Sort(handler)
	slices.Sort(documented)
	slices.Sort(stack)
	if len(handler) < 3 {
		t.Fatalf("the handler has %d public routes: %v", len(handler), handler)
	}
	if !slices.Equal(handler, documented) {
		t.Errorf("public in the handler %v, in openapi.json %v", handler, documented)
	}
	if !slices.Equal(handler, stack) {
		t.Errorf("public in the handler %v, without the authorizer in the stack %v", handler, stack)
	}
	// The page and its files are public too, and nothing else outside /api/.
	for _, r := range PublicRoutes {
		if !strings.HasPrefix(r, "GET /api/") && r != "GET /" && r != "GET /{asset}" {
			t.Errorf("public route %s", r)
		}
	}
}
