package cwusage

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// fakeCW answers each query with values by metric and dimension, in two pages.
type fakeCW struct {
	values map[string][]float64 // "Invocations casellario-poll"
	in     *cloudwatch.GetMetricDataInput
	err    error
}

func (f *fakeCW) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.in = in
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		m := q.MetricStat.Metric
		k := aws.ToString(m.MetricName) + " " + aws.ToString(m.Dimensions[0].Value)
		v := f.values[k]
		if in.NextToken == nil && len(v) > 1 {
			v = v[:1]
		} else if in.NextToken != nil {
			if len(v) < 2 {
				continue
			}
			v = v[1:]
		}
		out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{Id: q.Id, Values: v})
	}
	if in.NextToken == nil {
		out.NextToken = aws.String("page2")
	}
	return out, nil
}

func TestFetch(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cw := &fakeCW{values: map[string][]float64{
		"Invocations casellario-poll":           {10, 20},
		"Duration casellario-poll":              {1000, 2000},
		"Invocations casellario-dispatch":       {1},
		"ConsumedReadCapacityUnits casellario":  {5, 5},
		"ConsumedWriteCapacityUnits casellario": {7},
		"BucketSizeBytes up":                    {3e9, 3e9}, // two days of 3 GB
		"BucketSizeBytes docs":                  {0.5e9},
	}}
	u, err := Fetch(context.Background(), cw, Options{Table: "casellario", Buckets: []string{"up", "docs"}}, from, from.AddDate(0, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	if u.Functions["poll"].Invocations != 30 || u.Functions["poll"].DurationMS != 3000 || u.Functions["poll"].MemoryMB != 512 ||
		u.Functions["dispatch"].Invocations != 1 || u.Functions["api"].Invocations != 0 || len(u.Functions) != 5 {
		t.Errorf("functions %+v", u.Functions)
	}
	if u.DynamoReadUnits != 10 || u.DynamoWriteUnits != 7 || math.Abs(u.S3StorageGBMonths-6.5/30) > 1e-12 {
		t.Errorf("usage %+v", u)
	}
	if u.KMSRequests != 62 || u.SecretsCalls != 31 || u.Source != "cloudwatch" {
		t.Errorf("estimates %+v", u)
	}
	var s3q int
	for _, q := range cw.in.MetricDataQueries {
		if aws.ToInt32(q.MetricStat.Period) != 86400 {
			t.Errorf("period %d", aws.ToInt32(q.MetricStat.Period))
		}
		if aws.ToString(q.MetricStat.Metric.Namespace) == "AWS/S3" {
			s3q++
			if len(q.MetricStat.Metric.Dimensions) != 2 || aws.ToString(q.MetricStat.Stat) != "Average" {
				t.Errorf("S3 query %+v", q.MetricStat)
			}
		}
	}
	if s3q != 2 || len(cw.in.MetricDataQueries) != 14 {
		t.Errorf("%d queries, %d for S3", len(cw.in.MetricDataQueries), s3q)
	}
}

func TestFetchErrors(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		cw       *fakeCW
		from, to time.Time
		want     string
	}{
		{"empty span", &fakeCW{}, from, from, "empty span"},
		{"denied", &fakeCW{err: errors.New("AccessDenied")}, from, from.Add(time.Hour), "AccessDenied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fetch(context.Background(), tt.cw, Options{}, tt.from, tt.to)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v", err)
			}
		})
	}
}
