package localrun

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/report"
)

// meter counts the local run's function invocations and their wall time, as
// Lambda's Invocations and Duration metrics do in AWS.
type meter struct {
	mu    sync.Mutex
	since time.Time
	fns   map[string]report.FunctionUsage
}

func newMeter() *meter { return &meter{since: time.Now(), fns: map[string]report.FunctionUsage{}} }

// time counts one invocation of fn that started at start.
func (m *meter) time(fn string, start time.Time) {
	d := time.Since(start)
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.fns[fn]
	f.Invocations++
	f.DurationMS += float64(d) / float64(time.Millisecond)
	f.MemoryMB = report.MemoryMB[fn]
	m.fns[fn] = f
}

func (m *meter) snapshot() map[string]report.FunctionUsage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]report.FunctionUsage, len(report.MemoryMB))
	for fn, mb := range report.MemoryMB {
		out[fn] = report.FunctionUsage{MemoryMB: mb}
	}
	for fn, f := range m.fns {
		out[fn] = f
	}
	return out
}

// timed counts every request of the API as one invocation of "api".
func (m *meter) timed(fn string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer m.time(fn, time.Now())
		next.ServeHTTP(w, r)
	})
}

// countedNotices counts each notice as one invocation of "notify" (one SQS
// message, one invocation in AWS).
type countedNotices struct {
	m    *meter
	next notice.Publisher
}

func (c countedNotices) Publish(ctx context.Context, ev notice.Event) error {
	defer c.m.time("notify", time.Now())
	return c.next.Publish(ctx, ev)
}

// Usage is what the run used since it started: its function invocations and
// time, its DynamoDB and S3 calls, the bytes in its buckets; KMS and Secrets
// Manager estimated from the invocations as in AWS (see report.Usage).
func (r *Run) Usage(ctx context.Context) (*report.Usage, error) {
	now := time.Now()
	u := &report.Usage{From: r.meter.since, To: now, Source: "local run", Functions: r.meter.snapshot()}
	for op, n := range r.Calls.Snapshot() {
		svc, name, _ := strings.Cut(op, ".")
		if svc != "DynamoDB" {
			continue
		}
		switch name {
		case "GetItem", "Query", "Scan", "BatchGetItem":
			u.DynamoReadUnits += float64(n)
		case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem":
			u.DynamoWriteUnits += float64(n)
		}
	}
	var bytes float64
	for _, b := range []string{UploadsBucket, DocumentsBucket} {
		p := s3.NewListObjectsV2Paginator(r.S3, &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, o := range page.Contents {
				bytes += float64(aws.ToInt64(o.Size))
			}
		}
	}
	u.S3StorageGBMonths = bytes / 1e9 * now.Sub(r.meter.since).Hours() / 24 / 30
	u.EstimateCalls()
	u.Estimated = append(u.Estimated,
		"DynamoDB units: one per call (the local run counts calls, not capacity units)",
		"Lambda duration: the handlers' wall time on this machine",
		"S3 storage: the buckets' bytes now, kept since the run started")
	return u, nil
}

// serveUsage answers GET /usage of the control endpoint.
func (r *Run) serveUsage(w http.ResponseWriter, req *http.Request) {
	u, err := r.Usage(req.Context())
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(u)
}
