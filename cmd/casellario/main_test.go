package main

import (
	"os"
	"testing"
)

// asCLI makes the test binary run as the casellario command: tests start it
// as a child process (the local run they kill, the simulator it outlives).
const asCLI = "CASELLARIO_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}
