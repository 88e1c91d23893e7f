package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/lambdaenv"
	"github.com/casellario-pec/casellario/shared/localdev/localrun"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// target is the system an operator command talks to: a local run found through its
// endpoints file, or AWS configured by the environment (the same variables as the
// functions: CASELLARIO_TABLE, CASELLARIO_UPLOADS_BUCKET, ...).
type target struct {
	local   *localrun.Endpoints // nil for AWS
	store   *store.Dynamo
	docs    *s3docs.Docs
	tenants *tenants.Config
}

// endpointsFlag adds --endpoints to a command's flags.
func endpointsFlag(fs *flag.FlagSet) *string {
	return fs.String("endpoints", "", "endpoints.json of a local run (default: $CASELLARIO_ENDPOINTS, else the default data folder's; AWS when none exists)")
}

// openTarget finds the system: --endpoints FILE, else $CASELLARIO_ENDPOINTS, else the
// default data folder's endpoints.json, else AWS.
func openTarget(ctx context.Context, endpoints string) (*target, error) {
	path := endpoints
	if path == "" {
		path = os.Getenv("CASELLARIO_ENDPOINTS")
	}
	explicit := path != ""
	if path == "" {
		path = filepath.Join(localrun.DefaultDataDir(), localrun.EndpointsFile)
	}
	ep, err := localrun.ReadEndpoints(path)
	switch {
	case err == nil:
		if err := running(ep); err != nil {
			return nil, fmt.Errorf("the local run recorded in %s is not running (%v): start it with `make dev`, or pass --endpoints of one that runs", path, err)
		}
		return localTarget(ep)
	case explicit || !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("local run: %w", err)
	}
	t, err := awsTarget(ctx)
	if err != nil {
		return nil, fmt.Errorf("no local run found (%s; start one with `make dev`, or pass --endpoints), and AWS is not configured: %w", path, err)
	}
	return t, nil
}

func localTarget(ep localrun.Endpoints) (*target, error) {
	cfg := aws.Config{Region: ep.Region, Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	dyn := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ep.DynamoDB) })
	s3c := awsconf.NewS3(cfg, true, func(o *s3.Options) { o.BaseEndpoint = aws.String(ep.S3); o.UsePathStyle = true })
	t := &target{local: &ep,
		store: store.New(dyn, store.Options{Table: ep.Table}),
		docs:  s3docs.New(s3c, s3docs.Options{UploadsBucket: ep.UploadsBucket, DocumentsBucket: ep.DocumentsBucket})}
	var err error
	if ep.Tenants != "" {
		t.tenants, err = tenants.Load(ep.Tenants)
	} else {
		t.tenants = tenants.Demo()
	}
	return t, err
}

// awsTarget wires the store and documents as the functions do, from the same
// variables (shared/config).
func awsTarget(ctx context.Context) (*target, error) {
	c, err := config.Load(os.Environ())
	if err != nil {
		return nil, err
	}
	env, err := lambdaenv.Load(ctx, c)
	if err != nil {
		return nil, err
	}
	docs, err := env.Documents()
	if err != nil {
		return nil, err
	}
	return &target{store: env.Store, docs: docs, tenants: env.Tenants}, nil
}

// running reports whether a local run answers at its DynamoDB address: a run
// killed without stopping leaves its endpoints.json behind.
func running(ep localrun.Endpoints) error {
	u, err := url.Parse(ep.DynamoDB)
	if err != nil || u.Host == "" {
		return fmt.Errorf("its DynamoDB address %q is not a URL", ep.DynamoDB)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return fmt.Errorf("nothing answers at %s", u.Host)
	}
	return c.Close()
}
