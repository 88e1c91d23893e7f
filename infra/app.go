// Command infra is the CDK app of Casellario PEC: one stack, "Casellario", with the buckets, the table,
// the five functions, their schedules, the HTTP API, secrets, queues and alarms. See README.md beside
// this file for the context parameters, `make synth`, `make deploy` and `make deploy-local`.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	get := func(k string) any { return app.Node().TryGetContext(s(k)) }
	buildDir := "../build"
	if v, ok := get("buildDir").(string); ok && v != "" {
		buildDir = v
	}
	cfg, err := ConfigFromContext(get, buildDir)
	if err != nil {
		return err
	}
	if missing := cfg.Missing(); len(missing) > 0 {
		if v, _ := get("requireAllFunctions").(string); v == "true" {
			return fmt.Errorf("no zip for %v in %s: run `make build` (requireAllFunctions=true)", missing, buildDir)
		}
		fmt.Fprintf(os.Stderr, "infra: NOTE: %v have no zip in %s (no functions/<name> yet?): left out of the stack\n", missing, buildDir)
	}
	if abs, err := filepath.Abs(cfg.TenantsFile); err == nil && filepath.Base(filepath.Dir(abs)) == "examples" {
		fmt.Fprintln(os.Stderr, "infra: NOTE: using the example tenants file; pass -c tenants=FILE (make deploy TENANTS=FILE)")
	}
	if err := cfg.Stage(); err != nil {
		return err
	}
	var env *awscdk.Environment
	if a, r := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); a != "" || r != "" {
		env = &awscdk.Environment{Account: s(a), Region: s(r)}
		if a == "" {
			env.Account = nil
		}
		if r == "" {
			env.Region = nil
		}
	}
	if _, err := NewStack(app, "Casellario", &awscdk.StackProps{
		Env:         env,
		Description: s("Casellario PEC: criminal-record certificate requests over PEC"),
	}, cfg); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}
