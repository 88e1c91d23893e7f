// Package functions_test holds the rules of the functions' dependencies:
// handler packages never reach each other (what they share lives in
// shared/domain or a leaf package), and a function carries only the code it
// runs.
package functions_test

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/casellario-pec/casellario/"

// TestDependencies lists each function's dependency closure (go list -deps)
// and fails on a package it must not contain.
func TestDependencies(t *testing.T) {
	handler := func(name string) string { return mod + "shared/" + name }
	tests := []struct {
		function  string
		forbidden []string // import paths, or prefixes ending in "/"
	}{
		{"intake", []string{handler("dispatch"), handler("poll"), handler("notify"), handler("api"),
			"github.com/emersion/go-imap/", "github.com/emersion/go-smtp", mod + "shared/pdf", mod + "shared/reply",
			"github.com/pdfcpu/", "github.com/ledongthuc/", mod + "shared/localdev/"}},
		{"dispatch", []string{handler("poll"), handler("intake"), handler("notify"), handler("api"), mod + "shared/pdf", mod + "shared/localdev/"}},
		{"poll", []string{handler("dispatch"), handler("intake"), handler("notify"), handler("api"), mod + "shared/localdev/"}},
		{"notify", []string{handler("intake"), handler("dispatch"), handler("poll"), handler("api"), mod + "shared/localdev/"}},
		{"api", []string{handler("intake"), handler("dispatch"), handler("notify"), mod + "shared/localdev/"}},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "./"+tt.function).Output()
			if err != nil {
				t.Fatalf("go list -deps ./%s: %v", tt.function, err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 50 {
				t.Fatalf("go list found only %d packages: %v", len(deps), deps)
			}
			for _, d := range deps {
				for _, f := range tt.forbidden {
					if d == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(d, f)) {
						t.Errorf("functions/%s depends on %s", tt.function, d)
					}
				}
			}
		})
	}
}

// TestHandlersApart: no handler package imports another, whatever the
// function (the shared rule of the design).
func TestHandlersApart(t *testing.T) {
	handlers := []string{"intake", "dispatch", "poll", "notify", "api"}
	for _, h := range handlers {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, "../shared/"+h).Output()
		if err != nil {
			t.Fatalf("go list ../shared/%s: %v", h, err)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, other := range handlers {
				if other != h && imp == mod+"shared/"+other {
					t.Errorf("shared/%s imports shared/%s", h, other)
				}
			}
		}
	}
}
