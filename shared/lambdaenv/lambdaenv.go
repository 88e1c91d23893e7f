// Package lambdaenv builds what every function's main.go needs from the
// environment, once per execution environment: the AWS configuration, the store,
// the documents, the tenants file and a JSON logger. Each function adds only its
// own settings. Nothing here calls AWS: clients connect on first use.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/notice/queue"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Env is the common wiring of a function.
type Env struct {
	AWS     aws.Config
	Store   *store.Dynamo   // CASELLARIO_TABLE, CASELLARIO_RETENTION
	Docs    *s3docs.Docs    // CASELLARIO_UPLOADS_BUCKET, CASELLARIO_DOCUMENTS_BUCKET, CASELLARIO_SSE, CASELLARIO_KMS_KEY_ID; nil unless asked for
	Tenants *tenants.Config // CASELLARIO_TENANTS
	Log     *slog.Logger    // JSON on stdout, for CloudWatch
}

// Load reads the common environment. withDocs says whether the function uses
// the buckets (notify does not).
func Load(ctx context.Context, withDocs bool) (*Env, error) {
	sopt, err := store.OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	var dopt s3docs.Options
	if withDocs {
		if dopt, err = s3docs.OptionsFromEnv(); err != nil {
			return nil, err
		}
	}
	tc, err := tenants.FromEnv()
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, err
	}
	e := &Env{AWS: cfg, Tenants: tc, Log: slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		Store: store.New(dynamodb.NewFromConfig(cfg), sopt)}
	if withDocs {
		e.Docs = s3docs.New(awsconf.NewS3(cfg), dopt)
	}
	return e, nil
}

// Notices is where a handler's events go: the notify function's queue
// (CASELLARIO_NOTIFY_QUEUE_URL), or the log when the deployment e-mails
// nobody.
func (e *Env) Notices() notice.Publisher {
	if url := os.Getenv("CASELLARIO_NOTIFY_QUEUE_URL"); url != "" {
		return queue.SQS{Client: sqs.NewFromConfig(e.AWS), QueueURL: url}
	}
	return notice.Log{Logger: e.Log}
}

// Duration reads an optional positive duration variable (0 when unset).
func Duration(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive duration such as 10m", name, v)
	}
	return d, nil
}
