package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Usage is what the deployment used in a span of time: measured (CloudWatch
// in AWS; the local run's counts locally) where Estimated does not say
// otherwise.
type Usage struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Source string    `json:"source"` // "cloudwatch", "local run"
	// Functions by name (intake, dispatch, poll, api, notify).
	Functions map[string]FunctionUsage `json:"functions"`
	// DynamoDB request units (on demand: one per 1 KB written, per 4 KB read strongly).
	DynamoReadUnits  float64 `json:"dynamodb_read_units"`
	DynamoWriteUnits float64 `json:"dynamodb_write_units"`
	// S3StorageGBMonths is the storage of both buckets over the span.
	S3StorageGBMonths float64 `json:"s3_storage_gb_months"`
	// KMSRequests and SecretsCalls: see EstimateCalls.
	KMSRequests  float64 `json:"kms_requests"`
	SecretsCalls float64 `json:"secrets_manager_calls"`
	// Estimated names the figures that are estimates, and how they were made.
	Estimated []string `json:"estimated"`
}

// FunctionUsage is one function's invocations and time.
type FunctionUsage struct {
	Invocations float64 `json:"invocations"`
	DurationMS  float64 `json:"duration_ms"` // summed over the invocations
	MemoryMB    float64 `json:"memory_mb"`   // configured size
}

// MemoryMB is the functions' memory as infra/config.go sizes them: Lambda
// bills duration × memory.
var MemoryMB = map[string]float64{"intake": 1024, "dispatch": 512, "poll": 512, "api": 256, "notify": 256}

// How many KMS requests and Secrets Manager calls a function invocation
// makes at most. Neither is measured without CloudTrail: they are estimated
// from the invocation counts. KMS: the buckets' S3 Bucket Keys and
// DynamoDB's table key are each asked for about once per execution
// environment and key lifetime; two per invocation of a function that
// touches them bounds it. Secrets Manager: dispatch and poll read the
// tenant's PEC secret and notify the SMTP secret, once per execution
// environment (then cached): one per invocation bounds it.
var (
	KMSPerInvocation     = map[string]float64{"intake": 2, "dispatch": 2, "poll": 2, "api": 2}
	SecretsPerInvocation = map[string]float64{"dispatch": 1, "poll": 1, "notify": 1}
)

// EstimateCalls fills KMSRequests and SecretsCalls from the invocation
// counts (see KMSPerInvocation) and says so in Estimated.
func (u *Usage) EstimateCalls() {
	u.KMSRequests, u.SecretsCalls = 0, 0
	for name, f := range u.Functions {
		u.KMSRequests += f.Invocations * KMSPerInvocation[name]
		u.SecretsCalls += f.Invocations * SecretsPerInvocation[name]
	}
	u.Estimated = append(u.Estimated,
		"KMS requests: 2 per invocation of intake, dispatch, poll and api (an upper bound: keys are cached per execution environment)",
		"Secrets Manager calls: 1 per invocation of dispatch, poll and notify (an upper bound: secrets are cached per execution environment)")
}

// Prices are list prices in USD, with where they come from.
type Prices struct {
	Region, Date, Source string
	LambdaGBSecond       float64 // arm64
	LambdaRequest        float64
	DynamoWriteUnit      float64 // on demand
	DynamoReadUnit       float64
	S3GBMonth            float64 // Standard
	KMSRequest           float64
	SecretsCall          float64
	EURPerUSD            float64
}

// EUSouth1 are the prices of infra/README.md's cost section (eu-south-1,
// on-demand list prices as estimated there in December 2026: check the AWS
// Pricing Calculator before quoting), plus Secrets Manager's $0.05 per
// 10,000 API calls, and an exchange rate to be kept current.
var EUSouth1 = Prices{
	Region: "eu-south-1", Date: "2026-12",
	Source:         "infra/README.md cost section (AWS list prices, estimates: check the AWS Pricing Calculator); 1 USD = 0.86 EUR",
	LambdaGBSecond: 0.0000156, LambdaRequest: 0.23 / 1e6,
	DynamoWriteUnit: 0.74 / 1e6, DynamoReadUnit: 0.15 / 1e6,
	S3GBMonth:  0.0245,
	KMSRequest: 0.03 / 1e4, SecretsCall: 0.05 / 1e4,
	EURPerUSD: 0.86,
}

// USD returns the cost of u at p, by item.
func (p Prices) USD(u Usage) map[string]float64 {
	out := map[string]float64{}
	for _, f := range u.Functions {
		out["lambda"] += f.Invocations*p.LambdaRequest + f.DurationMS/1000*f.MemoryMB/1024*p.LambdaGBSecond
	}
	out["dynamodb"] = u.DynamoReadUnits*p.DynamoReadUnit + u.DynamoWriteUnits*p.DynamoWriteUnit
	out["s3"] = u.S3StorageGBMonths * p.S3GBMonth
	out["kms"] = u.KMSRequests * p.KMSRequest
	out["secretsmanager"] = u.SecretsCalls * p.SecretsCall
	return out
}

func cost(u *Usage, p Prices, sent int) Cost {
	if u == nil {
		return Cost{Basis: "no usage figure: the cost per request cannot be estimated here"}
	}
	items := p.USD(*u)
	total := 0.0
	names := make([]string, 0, len(items))
	for k, v := range items {
		total += v
		names = append(names, k)
	}
	sort.Strings(names)
	var by []string
	for _, k := range names {
		by = append(by, fmt.Sprintf("%s %.6f", k, items[k]*p.EURPerUSD))
	}
	var inv, gbs float64
	for _, f := range u.Functions {
		inv += f.Invocations
		gbs += f.DurationMS / 1000 * f.MemoryMB / 1024
	}
	b := fmt.Sprintf("%s usage %s to %s: %.0f Lambda invocations, %.1f GB-s; DynamoDB %.0f read and %.0f write units; "+
		"S3 %.6f GB-months; %.0f KMS requests; %.0f Secrets Manager calls. Prices %s %s (%s). EUR by item: %s; total %.6f EUR for %d requests sent. "+
		"Fixed monthly charges (KMS key, secrets, alarms, metrics: about 3.9 USD a month for one Comune, see infra/README.md) are not included.",
		u.Source, u.From.UTC().Format(time.RFC3339), u.To.UTC().Format(time.RFC3339), inv, gbs, u.DynamoReadUnits, u.DynamoWriteUnits,
		u.S3StorageGBMonths, u.KMSRequests, u.SecretsCalls, p.Region, p.Date, p.Source, strings.Join(by, ", "), total*p.EURPerUSD, sent)
	if len(u.Estimated) > 0 {
		b += " Estimated: " + strings.Join(u.Estimated, "; ") + "."
	}
	if sent == 0 {
		return Cost{Basis: b + " No request was sent: no cost per request."}
	}
	per := math.Round(total*p.EURPerUSD/float64(sent)*1e6) / 1e6
	return Cost{PerRequestEUR: &per, Basis: b}
}
