// Package lambdaenv builds, from the typed configuration (shared/config), what
// every function's main needs once per execution environment: the AWS
// configuration, the store, the documents, the tenants file, the notices'
// destination and a JSON logger that carries the Lambda request id. Each
// function adds only its own settings. Nothing here calls AWS: clients
// connect on first use.
package lambdaenv

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/notice/queue"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Env is the common wiring of a function.
type Env struct {
	Config  config.Config
	AWS     aws.Config
	Store   *store.Dynamo
	Tenants *tenants.Config
	Log     *slog.Logger // JSON on stdout for CloudWatch, with the Lambda request id
}

// Load builds the common wiring: the table and the tenants file are required.
func Load(ctx context.Context, c config.Config) (*Env, error) {
	if err := config.Require("CASELLARIO_TABLE", c.Store.Table); err != nil {
		return nil, err
	}
	tc, err := tenants.Open(c.Tenants)
	if err != nil {
		return nil, err
	}
	cfg, err := awsconf.Load(ctx, c.AWS)
	if err != nil {
		return nil, err
	}
	return &Env{Config: c, AWS: cfg, Tenants: tc, Log: NewLogger(os.Stdout),
		Store: store.New(dynamodb.NewFromConfig(cfg), store.Options{Table: c.Store.Table, Retention: c.Store.Retention})}, nil
}

// Documents returns the two buckets' documents; both buckets must be named.
func (e *Env) Documents() (*s3docs.Docs, error) {
	d := e.Config.Docs
	if err := config.Require("CASELLARIO_UPLOADS_BUCKET", d.UploadsBucket, "CASELLARIO_DOCUMENTS_BUCKET", d.DocumentsBucket); err != nil {
		return nil, errors.New("the buckets: " + err.Error())
	}
	return s3docs.New(awsconf.NewS3(e.AWS, e.Config.AWS.S3PathStyle),
		s3docs.Options{UploadsBucket: d.UploadsBucket, DocumentsBucket: d.DocumentsBucket, SSE: d.SSE, KMSKeyID: d.KMSKeyID}), nil
}

// Notices is where a handler's events go: the notify function's queue, or
// the log when the deployment e-mails nobody.
func (e *Env) Notices() notice.Publisher {
	if url := e.Config.NotifyQueueURL; url != "" {
		return queue.SQS{Client: sqs.NewFromConfig(e.AWS), QueueURL: url}
	}
	return notice.Log{Logger: e.Log}
}
