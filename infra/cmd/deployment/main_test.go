package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"AWS deployment", []string{"../../testdata/deployment.json"}, 0, "eu-south-1 123456789012\n", ""},
		{"local deployment", []string{"../../deployments/local.json"}, 1, "", "use make deploy-local"},
		{"template", []string{"../../deployments/TEMPLATE.json"}, 1, "", "account:"},
		{"missing", []string{"../../deployments/nowhere.json"}, 1, "", "no such file"},
		{"no argument", nil, 2, "", "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb strings.Builder
			code := run(tt.args, &out, &errb)
			if code != tt.code || out.String() != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("run = %d %q %q, want %d %q %q", code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
