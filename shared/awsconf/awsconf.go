// Package awsconf loads the AWS SDK configuration the same way in Lambda, on a
// developer's machine against the local stand-ins (dynalite, gofakes3) and in
// tests, and counts API calls for the benchmarks.
//
// The SDK reads its own variables (AWS_REGION, AWS_ENDPOINT_URL and the
// per-service AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3…); the region
// is DefaultRegion (eu-south-1, Milan) when none is set. With an endpoint set
// and no credentials in the environment (config.AWS), static dummy
// credentials are used: the local stand-ins accept any signature, and the SDK
// would otherwise wait on the EC2 metadata service.
package awsconf

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/casellario-pec/casellario/shared/config"
)

// DefaultRegion is used when no region is configured: Milan, so that personal
// data stays in Italy unless an operator decides otherwise.
const DefaultRegion = "eu-south-1"

// Load returns the SDK configuration (see the package doc).
func Load(ctx context.Context, a config.AWS, opts ...func(*sdkconfig.LoadOptions) error) (aws.Config, error) {
	if a.Endpoint && !a.Credentials {
		opts = append([]func(*sdkconfig.LoadOptions) error{
			sdkconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		}, opts...)
	}
	cfg, err := sdkconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

// NewS3 returns an S3 client; pathStyle (config.AWS.S3PathStyle) puts the
// bucket in the path, as gofakes3 and most stand-ins want.
func NewS3(cfg aws.Config, pathStyle bool, opts ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.UsePathStyle = o.UsePathStyle || pathStyle
		// gofakes3 and most stand-ins do not send the newer CRC checksums back.
		if pathStyle {
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}}, opts...)...)
}

// Calls counts API operations per service and operation ("DynamoDB.PutItem").
// Retries of one operation count once. Safe for concurrent use.
type Calls struct {
	mu sync.Mutex
	m  map[string]*atomic.Int64
}

// Count installs a call counter on cfg: every client made from cfg afterwards counts into it.
func Count(cfg *aws.Config) *Calls {
	c := &Calls{m: map[string]*atomic.Int64{}}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CasellarioCallCounter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.add(awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return c
}

func (c *Calls) add(key string) {
	c.mu.Lock()
	n := c.m[key]
	if n == nil {
		n = new(atomic.Int64)
		c.m[key] = n
	}
	c.mu.Unlock()
	n.Add(1)
}

// Snapshot returns the counts so far.
func (c *Calls) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v.Load()
	}
	return out
}

// Total returns the calls so far to one service ("DynamoDB", "S3"), or to all when service is "".
func (c *Calls) Total(service string) int64 {
	var t int64
	for k, v := range c.Snapshot() {
		if service == "" || strings.HasPrefix(k, service+".") {
			t += v
		}
	}
	return t
}

// Reset sets every count to zero.
func (c *Calls) Reset() {
	c.mu.Lock()
	c.m = map[string]*atomic.Int64{}
	c.mu.Unlock()
}

// String lists the counts, sorted: "DynamoDB.PutItem=3 S3.PutObject=1".
func (c *Calls) String() string {
	s := c.Snapshot()
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, s[k])
	}
	return b.String()
}
