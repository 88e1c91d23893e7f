package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAWS answers the preflight's AWS CLI calls from FAKE_* variables; an unset one fails the call as
// the CLI does (no credentials, no parameter, no stack).
const fakeAWS = `#!/bin/bash
case "$1 $2" in
"sts get-caller-identity") [ -n "$FAKE_ACCOUNT" ] && echo "$FAKE_ACCOUNT" || exit 255 ;;
"account get-region-opt-status") [ -n "$FAKE_OPT" ] && echo "$FAKE_OPT" || exit 254 ;;
"ec2 describe-regions") [ -n "$FAKE_EC2" ] && echo "$FAKE_EC2" || exit 254 ;;
"ssm get-parameter") [ -n "$FAKE_BOOT" ] && echo "$FAKE_BOOT" || exit 254 ;;
"cloudformation describe-stacks") [ -n "$FAKE_STACK" ] && echo "$FAKE_STACK" || exit 254 ;;
*) echo "unexpected aws $*" >&2; exit 99 ;;
esac
`

func TestPreflight(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(fakeAWS), 0o755); err != nil {
		t.Fatal(err)
	}
	ok := map[string]string{"FAKE_ACCOUNT": "123456789012", "FAKE_OPT": "ENABLED", "FAKE_BOOT": "21", "FAKE_STACK": "UPDATE_COMPLETE"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		env    map[string]string
		noAWS  bool
		code   int
		stdout string
		stderr string
	}{
		{"existing stack", ok, false, 0, "", ""},
		{"first create", with("FAKE_STACK", ""), false, 0, "-c firstCreate=true", ""},
		{"failed first create", with("FAKE_STACK", "ROLLBACK_COMPLETE"), false, 0, "-c firstCreate=true", "ROLLBACK_COMPLETE"},
		{"stack busy", with("FAKE_STACK", "UPDATE_IN_PROGRESS"), false, 1, "", "wait for it to finish"},
		{"no AWS CLI", ok, true, 1, "", "AWS CLI v2 is not installed"},
		{"no credentials", with("FAKE_ACCOUNT", ""), false, 1, "", "no AWS credentials"},
		{"other account", with("FAKE_ACCOUNT", "999999999999"), false, 1, "", "credentials are for account 999999999999"},
		{"Region disabled", with("FAKE_OPT", "DISABLED"), false, 1, "", "aws account enable-region --region-name eu-south-1"},
		{"Region enabling", with("FAKE_OPT", "ENABLING"), false, 1, "", "still being enabled"},
		{"Region via EC2", with("FAKE_OPT", "", "FAKE_EC2", "opted-in"), false, 0, "", ""},
		{"Region disabled via EC2", with("FAKE_OPT", "", "FAKE_EC2", "not-opted-in"), false, 1, "", "is not enabled"},
		{"Region unknown", with("FAKE_OPT", ""), false, 1, "", "could not tell"},
		{"not bootstrapped", with("FAKE_BOOT", ""), false, 1, "", "cdk bootstrap aws://123456789012/eu-south-1"},
		{"old bootstrap", with("FAKE_BOOT", "3"), false, 1, "", "version 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := bin
			if tt.noAWS {
				path = t.TempDir()
			}
			cmd := exec.Command(bash, "preflight.sh", "eu-south-1", "123456789012")
			cmd.Env = []string{"PATH=" + path}
			for k, v := range tt.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || strings.TrimSpace(out.String()) != tt.stdout || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("exit %d stdout %q stderr %q; want %d %q %q", code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// The stack policy make deploy sets forbids replacing the resources that hold data or users.
func TestStackPolicy(t *testing.T) {
	b, err := os.ReadFile("stack-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Statement []struct {
			Effect    string
			Action    any
			Condition map[string]map[string][]string
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Statement) != 2 || p.Statement[0].Effect != "Deny" || p.Statement[0].Action != "Update:Replace" || p.Statement[1].Effect != "Allow" {
		t.Fatalf("policy %+v", p)
	}
	types := strings.Join(p.Statement[0].Condition["StringEquals"]["ResourceType"], " ")
	for _, want := range []string{"AWS::Cognito::UserPool", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key"} {
		if !strings.Contains(types, want) {
			t.Errorf("replacement of %s is not denied", want)
		}
	}
}
