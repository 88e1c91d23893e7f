// Package testenv gives tests a local AWS: one dynalite and one gofakes3 per
// test binary, started on first use, with a fresh table and fresh buckets per
// test. Use it from TestMain so that the servers stop when the tests end:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestX(t *testing.T) {
//		env := testenv.New(t)          // table and buckets of this test
//		s := store.New(env.Dynamo, store.Options{Table: env.Table})
//	}
//
// When dynalite is not installed the test fails and says to run `npm ci`;
// under go test -short (make test-unit) New skips the test instead.
package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/localdev/localaws"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/store"
)

var (
	once     sync.Once
	shared   *servers
	startErr error
	seq      atomic.Int64
)

type servers struct {
	dyn *localaws.Dynalite
	s3  *localaws.S3
}

func start() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := localaws.StartDynalite(ctx, localaws.DynaliteOptions{})
	if err != nil {
		startErr = fmt.Errorf("starting dynalite: %w", err)
		return
	}
	s, err := localaws.StartS3(localaws.S3Options{})
	if err != nil {
		d.Stop()
		startErr = fmt.Errorf("starting gofakes3: %w", err)
		return
	}
	shared = &servers{dyn: d, s3: s}
}

// Main runs the tests and then stops the servers, if they were started.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.dyn.Stop()
		shared.s3.Stop()
	}
	os.Exit(code)
}

// Env is the local AWS of one test.
type Env struct {
	Config    aws.Config // endpoints of the stand-ins, dummy credentials, a call counter
	Dynamo    *dynamodb.Client
	S3        *s3.Client
	Calls     *awsconf.Calls // API calls of this Env's clients
	Table     string         // created, empty
	Uploads   string         // bucket, created, empty
	Documents string         // bucket, created, empty
	DynamoURL string
	S3URL     string
}

// New starts the servers if needed, creates a table and two buckets for the
// test and returns clients to them.
func New(t testing.TB) *Env {
	t.Helper()
	needs.Server(t, needs.Dynalite)
	once.Do(start)
	if startErr != nil {
		t.Fatalf("local AWS unavailable: %v", startErr)
	}
	n := seq.Add(1)
	env := &Env{
		Table:     fmt.Sprintf("casellario-test-%d", n),
		Uploads:   fmt.Sprintf("uploads-%d", n),
		Documents: fmt.Sprintf("documents-%d", n),
		DynamoURL: shared.dyn.URL,
		S3URL:     shared.s3.URL,
	}
	env.Config = aws.Config{
		Region:      awsconf.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
	env.Calls = awsconf.Count(&env.Config)
	env.Dynamo = dynamodb.NewFromConfig(env.Config, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(env.DynamoURL) })
	env.S3 = awsconf.NewS3(env.Config, true, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(env.S3URL)
		o.UsePathStyle = true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := store.CreateTable(ctx, env.Dynamo, env.Table); err != nil {
		t.Fatalf("creating test table: %v", err)
	}
	for _, b := range []string{env.Uploads, env.Documents} {
		if err := shared.s3.CreateBucket(b); err != nil {
			t.Fatalf("creating test bucket %s: %v", b, err)
		}
	}
	env.Calls.Reset()
	return env
}

// Keys lists every object key of a bucket.
func (e *Env) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(e.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("listing bucket %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}
