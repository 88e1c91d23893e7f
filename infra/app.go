// Command infra is the CDK app of Casellario PEC: one stack, "Casellario", with the buckets, the table,
// the five functions, their schedules, the HTTP API, secrets, queues, alarms and a dashboard, built from
// one deployment file (deployments/<name>.json). See README.md beside this file for `make synth`,
// `make deploy DEPLOYMENT=name` and `make deploy-local`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if _, err := build(app, func(k string) any { return app.Node().TryGetContext(s(k)) }, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

// build adds the stack the context asks for to app: the deployment file gives the account and the
// Region (eu-south-1 unless it says otherwise), so the stack never goes wherever the CLI happens to
// point.
func build(app awscdk.App, get ContextGetter, notes io.Writer) (*Stack, error) {
	buildDir := "../build"
	if v, ok := get("buildDir").(string); ok && v != "" {
		buildDir = v
	}
	cfg, err := ConfigFromContext(get, buildDir)
	if err != nil {
		return nil, err
	}
	if missing := cfg.Missing(); len(missing) > 0 {
		if v, _ := get("requireAllFunctions").(string); v == "true" {
			return nil, fmt.Errorf("no zip for %v in %s: run `make build` (requireAllFunctions=true)", missing, buildDir)
		}
		fmt.Fprintf(notes, "infra: NOTE: %v have no zip in %s (no functions/<name> yet?): left out of the stack\n", missing, buildDir)
	}
	if err := cfg.Stage(); err != nil {
		return nil, err
	}
	d := cfg.Deployment
	env := &awscdk.Environment{Region: s(d.Region)}
	if d.Account != "" {
		env.Account = s(d.Account)
	}
	return NewStack(app, StackName, &awscdk.StackProps{
		Env:         env,
		Description: s("Casellario PEC: criminal-record certificate requests over PEC"),
	}, cfg)
}
