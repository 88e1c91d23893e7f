// Package cwusage reads what a Casellario PEC deployment used from
// CloudWatch metrics (GetMetricData), for the cost figure of the report:
// AWS/Lambda Invocations and Duration per function, AWS/DynamoDB
// ConsumedRead/WriteCapacityUnits of the table, AWS/S3 BucketSizeBytes of
// the buckets. KMS and Secrets Manager have no such metrics without
// CloudTrail: they are estimated from the invocation counts
// (report.Usage.EstimateCalls). The caller needs cloudwatch:GetMetricData.
package cwusage

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/casellario-pec/casellario/shared/report"
)

// Options name the deployment's resources.
type Options struct {
	// Functions maps the report's names (intake, dispatch, ...) to the
	// Lambda function names; nil: casellario-<name> for each of report.MemoryMB.
	Functions map[string]string
	Table     string   // CASELLARIO_TABLE
	Buckets   []string // the uploads and documents buckets
}

const day = 24 * 60 * 60

// Fetch sums the metrics over [from, to) in daily periods.
func Fetch(ctx context.Context, cw cloudwatch.GetMetricDataAPIClient, o Options, from, to time.Time) (*report.Usage, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("usage from %s to %s: an empty span", from, to)
	}
	if o.Functions == nil {
		o.Functions = map[string]string{}
		for name := range report.MemoryMB {
			o.Functions[name] = "casellario-" + name
		}
	}
	var queries []types.MetricDataQuery
	add := func(id, ns, metric, stat string, dims ...string) {
		var d []types.Dimension
		for i := 0; i+1 < len(dims); i += 2 {
			d = append(d, types.Dimension{Name: aws.String(dims[i]), Value: aws.String(dims[i+1])})
		}
		queries = append(queries, types.MetricDataQuery{Id: aws.String(id), ReturnData: aws.Bool(true),
			MetricStat: &types.MetricStat{Metric: &types.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: d},
				Period: aws.Int32(day), Stat: aws.String(stat)}})
	}
	for name, fn := range o.Functions {
		add("inv_"+name, "AWS/Lambda", "Invocations", "Sum", "FunctionName", fn)
		add("dur_"+name, "AWS/Lambda", "Duration", "Sum", "FunctionName", fn)
	}
	if o.Table != "" {
		add("rcu", "AWS/DynamoDB", "ConsumedReadCapacityUnits", "Sum", "TableName", o.Table)
		add("wcu", "AWS/DynamoDB", "ConsumedWriteCapacityUnits", "Sum", "TableName", o.Table)
	}
	for i, b := range o.Buckets {
		add(fmt.Sprintf("s3_%d", i), "AWS/S3", "BucketSizeBytes", "Average", "BucketName", b, "StorageType", "StandardStorage")
	}
	sums := map[string]float64{}
	// At most 500 queries a call; a deployment has far fewer.
	p := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from), EndTime: aws.Time(to), MetricDataQueries: queries})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading CloudWatch metrics: %w", err)
		}
		for _, r := range page.MetricDataResults {
			for _, v := range r.Values {
				sums[aws.ToString(r.Id)] += v
			}
		}
	}
	u := &report.Usage{From: from, To: to, Source: "cloudwatch", Functions: map[string]report.FunctionUsage{},
		DynamoReadUnits: sums["rcu"], DynamoWriteUnits: sums["wcu"]}
	for name := range o.Functions {
		u.Functions[name] = report.FunctionUsage{Invocations: sums["inv_"+name], DurationMS: sums["dur_"+name], MemoryMB: report.MemoryMB[name]}
	}
	// Daily averages of bytes: their sum is byte-days.
	for id, v := range sums {
		if strings.HasPrefix(id, "s3_") {
			u.S3StorageGBMonths += v / 1e9 / 30
		}
	}
	u.EstimateCalls()
	return u, nil
}
