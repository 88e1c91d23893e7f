// Package simtest starts the PEC simulator (shared/localdev/sim) for a
// test: skipped under go test -short (make test-unit), closed when the test
// ends.
package simtest

import (
	"context"
	"testing"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/localdev/sim"
)

// Start starts the simulator with cfg; it is closed at the end of the test.
func Start(tb testing.TB, cfg sim.Config) *sim.World {
	tb.Helper()
	needs.Server(tb, needs.Simulator)
	w, err := sim.Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("starting the PEC simulator: %v", err)
	}
	tb.Cleanup(func() { w.Close() })
	return w
}
