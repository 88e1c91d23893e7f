package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

var update = flag.Bool("update", false, "rewrite ARCHITECTURE.txt from the stack")

// TestMain points jsii's caches into the build folder (nothing is downloaded: the jsii runtime and the
// CDK library are embedded in the Go modules) and stops the node child process at the end.
func TestMain(m *testing.M) {
	build, _ := filepath.Abs("../build")
	for k, v := range map[string]string{
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
		"JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION":    "1",
		"JSII_RUNTIME_PACKAGE_CACHE_ROOT":               filepath.Join(build, "jsii-cache"),
		"CDK_HOME":                                      filepath.Join(build, "cdk-home"),
	} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	flag.Parse()
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// check turns a failed CDK assertion (a panic from jsii) into a test failure.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: %v", what, r)
		}
	}()
	f()
}

// testConfig is the configuration of the tests: the two-tenant test file (Vaiano with an external
// protocol register, so three secrets plus SMTP), placeholder zips for the functions named.
func testConfig(t *testing.T, functions ...string) *Config {
	t.Helper()
	dir := t.TempDir()
	tc, err := tenants.Load("testdata/tenants.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{
		Tenants: tc, TenantsFile: "testdata/tenants.json", PECTrust: "examples/pec-trust.pem",
		ConfigDir: filepath.Join(dir, "layer"), Zips: map[string]string{},
		DispatchCron: DefaultDispatchCron, PollCron: DefaultPollCron, SchedulesEnabled: true,
		RetentionDays: DefaultRetentionDays, UploadRetentionDays: DefaultUploadRetentionDays,
		DispatchCronByTenant: map[string]string{"c_l537": "cron(30 12 ? * MON-FRI *)"},
		SMTPHost:             "smtp.example.it", SMTPFrom: "casellario@example.it", SMTPPort: 587, SMTPTLS: "starttls",
	}
	for _, f := range functions {
		p := filepath.Join(dir, f+".zip")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(out)
		w, _ := zw.Create("bootstrap")
		w.Write([]byte("#!/bin/sh\n"))
		zw.Close()
		out.Close()
		cfg.Zips[f] = p
	}
	if err := cfg.Stage(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type synthed struct {
	stack *Stack
	tpl   assertions.Template
	json  map[string]any
}

var (
	fullOnce sync.Once
	full     *synthed
	fullErr  error
)

func synth(t *testing.T, cfg *Config) *synthed {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st, err := NewStack(app, "Casellario", &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("123456789012"), Region: jsii.String("eu-south-1")}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tpl := assertions.Template_FromStack(st.Stack, nil)
	b, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &synthed{stack: st, tpl: tpl, json: m}
}

// fullStack is the stack with all five functions and a Cognito user pool, synthesized once.
func fullStack(t *testing.T) *synthed {
	fullOnce.Do(func() {
		full = synth(t, testConfig(t, "intake", "dispatch", "poll", "api", "notify"))
	})
	if full == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return full
}

func obj(kv ...any) *map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return &m
}

func arrayWith(v ...any) assertions.Matcher { return assertions.Match_ArrayWith(&v) }
func objectLike(kv ...any) assertions.Matcher {
	return assertions.Match_ObjectLike(obj(kv...))
}

func TestBuckets(t *testing.T) {
	f := fullStack(t)
	check(t, "two buckets", func() { f.tpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(2)) })
	check(t, "bucket security", func() {
		f.tpl.AllResourcesProperties(jsii.String("AWS::S3::Bucket"), obj(
			"PublicAccessBlockConfiguration", obj("BlockPublicAcls", true, "BlockPublicPolicy", true, "IgnorePublicAcls", true, "RestrictPublicBuckets", true),
			"BucketEncryption", obj("ServerSideEncryptionConfiguration", arrayWith(objectLike(
				"BucketKeyEnabled", true,
				"ServerSideEncryptionByDefault", objectLike("SSEAlgorithm", "aws:kms", "KMSMasterKeyID", assertions.Match_AnyValue())))),
			"VersioningConfiguration", obj("Status", "Enabled"),
			"OwnershipControls", obj("Rules", []any{obj("ObjectOwnership", "BucketOwnerEnforced")}),
			"LifecycleConfiguration", objectLike("Rules", arrayWith(objectLike("Status", "Enabled", "ExpirationInDays", assertions.Match_AnyValue()))),
		))
	})
	check(t, "documents retention", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj("LifecycleConfiguration", objectLike("Rules", arrayWith(objectLike(
			"Id", "documents-retention", "ExpirationInDays", DefaultRetentionDays, "NoncurrentVersionExpiration", objectLike("NoncurrentDays", 30))))))
	})
	check(t, "uploads retention", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj("LifecycleConfiguration", objectLike("Rules", arrayWith(objectLike(
			"Id", "uploaded-lists", "ExpirationInDays", DefaultUploadRetentionDays)))))
	})
	check(t, "TLS-only bucket policies", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::S3::BucketPolicy"), jsii.Number(2))
		f.tpl.AllResourcesProperties(jsii.String("AWS::S3::BucketPolicy"), obj("PolicyDocument", objectLike("Statement", arrayWith(
			objectLike("Effect", "Deny", "Action", "s3:*", "Condition", obj("Bool", obj("aws:SecureTransport", "false"))),
			objectLike("Effect", "Deny", "Action", "s3:*", "Condition", obj("NumericLessThan", obj("s3:TlsVersion", 1.2))),
		))))
	})
	check(t, "key rotation", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(1))
		f.tpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj("EnableKeyRotation", true))
	})
	check(t, "S3 invokes intake", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj("NotificationConfiguration", obj("LambdaConfigurations", arrayWith(
			objectLike("Event", "s3:ObjectCreated:*", "Function", obj("Fn::GetAtt", []any{logicalID(t, f, "IntakeFunction"), "Arn"}))))))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), obj("Principal", "s3.amazonaws.com", "Action", "lambda:InvokeFunction",
			"SourceAccount", assertions.Match_AnyValue(), "SourceArn", assertions.Match_AnyValue()))
	})
}

// logicalID finds the logical id whose friendly name is name.
func logicalID(t *testing.T, f *synthed, name string) string {
	t.Helper()
	for id := range f.json["Resources"].(map[string]any) {
		if friendly(id) == name {
			return id
		}
	}
	t.Fatalf("no resource %s", name)
	return ""
}

func TestTable(t *testing.T) {
	f := fullStack(t)
	in := store.TableInput(TableName)
	var attrs, gsis []any
	for _, a := range in.AttributeDefinitions {
		attrs = append(attrs, obj("AttributeName", *a.AttributeName, "AttributeType", string(a.AttributeType)))
	}
	ks := func(k []typesKey) []any {
		var out []any
		for _, e := range k {
			kt := "RANGE"
			if e.hash {
				kt = "HASH"
			}
			out = append(out, obj("AttributeName", e.name, "KeyType", kt))
		}
		return out
	}
	for _, g := range in.GlobalSecondaryIndexes {
		gsis = append(gsis, obj("IndexName", *g.IndexName, "KeySchema", ks(keySchema(g.KeySchema)), "Projection", obj("ProjectionType", "ALL")))
	}
	check(t, "table as shared/store.TableInput, with TTL, PITR, CMK and deletion protection", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
		f.tpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj(
			"TableName", TableName,
			"BillingMode", "PAY_PER_REQUEST",
			"KeySchema", ks(keySchema(in.KeySchema)),
			"AttributeDefinitions", assertions.Match_ArrayWith(&attrs),
			"GlobalSecondaryIndexes", gsis,
			"TimeToLiveSpecification", obj("AttributeName", store.AttrTTL, "Enabled", true),
			"PointInTimeRecoverySpecification", objectLike("PointInTimeRecoveryEnabled", true),
			"SSESpecification", obj("SSEEnabled", true, "SSEType", "KMS", "KMSMasterKeyId", assertions.Match_AnyValue()),
			"DeletionProtectionEnabled", true,
		))
	})
	// The definitions must be exactly those of TableInput (no extra attribute).
	got := f.json["Resources"].(map[string]any)[logicalID(t, f, "Table")].(map[string]any)["Properties"].(map[string]any)["AttributeDefinitions"].([]any)
	if len(got) != len(in.AttributeDefinitions) {
		t.Fatalf("attribute definitions: %d, want %d", len(got), len(in.AttributeDefinitions))
	}
}

func TestFunctions(t *testing.T) {
	f := fullStack(t)
	check(t, "five functions", func() { f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(5)) })
	check(t, "runtime", func() {
		f.tpl.AllResourcesProperties(jsii.String("AWS::Lambda::Function"), obj(
			"Runtime", "provided.al2023", "Architectures", []any{"arm64"}, "Handler", "bootstrap",
			"Layers", arrayWith(obj("Ref", logicalID(t, f, "ConfigLayer"))),
			"LoggingConfig", obj("LogGroup", assertions.Match_AnyValue()),
			"Environment", obj("Variables", objectLike("CASELLARIO_TENANTS", LayerDir+"/tenants.json", "CASELLARIO_SSE", "aws:kms")),
		))
	})
	check(t, "poll: one at a time, trust store, deadline", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj("FunctionName", "casellario-poll", "ReservedConcurrentExecutions", 1,
			"Timeout", 300, "Environment", obj("Variables", objectLike("CASELLARIO_PEC_TRUST", LayerDir+"/pec-trust.pem", "CASELLARIO_POLL_DEADLINE", "4m"))))
	})
	check(t, "log retention", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(5))
		f.tpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), obj("RetentionInDays", 90))
	})
	// Only poll has reserved concurrency; every async-invoked function has a DLQ.
	for id, r := range f.json["Resources"].(map[string]any) {
		m := r.(map[string]any)
		if m["Type"] != "AWS::Lambda::Function" {
			continue
		}
		p := m["Properties"].(map[string]any)
		name := p["FunctionName"].(string)
		if _, ok := p["ReservedConcurrentExecutions"]; ok != (name == "casellario-poll") {
			t.Errorf("%s: reserved concurrency %v", id, p["ReservedConcurrentExecutions"])
		}
		_, dlq := p["DeadLetterConfig"]
		if want := name == "casellario-intake" || name == "casellario-dispatch" || name == "casellario-poll"; dlq != want {
			t.Errorf("%s: dead-letter queue %v, want %v", name, dlq, want)
		}
		// No credential in the environment: every value is a reference or a plain setting.
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		for k, v := range vars {
			if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(fmt.Sprint(v)), "password") {
				t.Errorf("%s: environment %s looks like a credential", name, k)
			}
		}
	}
	check(t, "async retries and DLQs", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), jsii.Number(3))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), obj("MaximumRetryAttempts", 0, "MaximumEventAgeInSeconds", 600))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj("FunctionName", "casellario-intake",
			"DeadLetterConfig", obj("TargetArn", obj("Fn::GetAtt", []any{logicalID(t, f, "IntakeDLQ"), "Arn"}))))
	})
	check(t, "queues: encrypted, TLS only, notices redriven", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(5))
		f.tpl.AllResourcesProperties(jsii.String("AWS::SQS::Queue"), obj("SqsManagedSseEnabled", true))
		f.tpl.ResourceCountIs(jsii.String("AWS::SQS::QueuePolicy"), jsii.Number(5))
		f.tpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj("QueueName", "casellario-notices",
			"RedrivePolicy", obj("deadLetterTargetArn", assertions.Match_AnyValue(), "maxReceiveCount", 5)))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), obj("FunctionName", obj("Ref", logicalID(t, f, "NotifyFunction")),
			"FunctionResponseTypes", []any{"ReportBatchItemFailures"}))
	})
}

func TestSchedules(t *testing.T) {
	f := fullStack(t)
	check(t, "two schedules per tenant", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Scheduler::Schedule"), jsii.Number(4))
		f.tpl.AllResourcesProperties(jsii.String("AWS::Scheduler::Schedule"), obj(
			"ScheduleExpressionTimezone", "Europe/Rome", "State", "ENABLED",
			"Target", objectLike("DeadLetterConfig", obj("Arn", assertions.Match_AnyValue()), "RetryPolicy", assertions.Match_AnyValue(),
				"Input", assertions.Match_StringLikeRegexp(jsii.String(`"detail":\{"tenant":"c_`))),
		))
	})
	for name, expr := range map[string]string{
		"casellario-dispatch-c-g999": DefaultDispatchCron, "casellario-dispatch-c-l537": "cron(30 12 ? * MON-FRI *)",
		"casellario-poll-c-g999": DefaultPollCron, "casellario-poll-c-l537": DefaultPollCron,
	} {
		check(t, name, func() {
			f.tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), obj("Name", name, "ScheduleExpression", expr))
		})
	}
}

func TestSecrets(t *testing.T) {
	f := fullStack(t)
	check(t, "secrets with the CMK", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::SecretsManager::Secret"), jsii.Number(4))
		f.tpl.AllResourcesProperties(jsii.String("AWS::SecretsManager::Secret"), obj("KmsKeyId", assertions.Match_AnyValue(),
			"GenerateSecretString", objectLike("GenerateStringKey", "password")))
	})
	// Who may read which secret.
	want := map[string][]string{
		"DispatchRole": {"casellario/pec/c_g999", "casellario/pec/c_l537", "casellario/protocol/c_l537"},
		"PollRole":     {"casellario/pec/c_g999", "casellario/pec/c_l537"},
		"NotifyRole":   {SMTPSecretName},
		"IntakeRole":   nil,
		"ApiRole":      nil,
	}
	secretName := map[string]string{}
	res := f.json["Resources"].(map[string]any)
	for id, r := range res {
		m := r.(map[string]any)
		if m["Type"] == "AWS::SecretsManager::Secret" {
			secretName[id] = m["Properties"].(map[string]any)["Name"].(string)
		}
	}
	d := &diagram{res: res, names: map[string]string{}}
	for id := range res {
		d.names[id] = id
	}
	for role, names := range want {
		var got []string
		for _, st := range policyStatements(t, f, logicalID(t, f, role)) {
			if fmt.Sprint(st["Action"]) == "secretsmanager:GetSecretValue" {
				for _, ref := range d.refs(st["Resource"]) {
					got = append(got, secretName[ref])
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(names) && !(len(got) == 0 && len(names) == 0) {
			t.Errorf("%s reads secrets %v, want %v", role, got, names)
		}
	}
}

// policyStatements returns the statements of the inline policies attached to the role.
func policyStatements(t *testing.T, f *synthed, role string) []map[string]any {
	var out []map[string]any
	for _, r := range f.json["Resources"].(map[string]any) {
		m := r.(map[string]any)
		if m["Type"] != "AWS::IAM::Policy" {
			continue
		}
		p := m["Properties"].(map[string]any)
		if !strings.Contains(fmt.Sprint(p["Roles"]), role) {
			continue
		}
		for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

// scopedWildcard: a wildcard allowed only as the last path element of a concrete ARN (objects of one
// bucket "arn/*", versions of one function "arn:*").
var scopedWildcard = regexp.MustCompile(`^<ref>[^*]*[/:]\*$`)

func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if _, ok := x["Ref"]; ok {
			return "<ref>"
		}
		if _, ok := x["Fn::GetAtt"]; ok {
			return "<ref>"
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			if i := strings.LastIndexAny(sub, "/:"); strings.Contains(sub, "*") && i >= 0 {
				return "<ref>" + sub[i:]
			}
			return "<ref>"
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, p := range j[1].([]any) {
				b.WriteString(flatten(p))
			}
			return b.String()
		}
	}
	return fmt.Sprint(v)
}

func TestIAMLeastPrivilege(t *testing.T) {
	f := fullStack(t)
	n := 0
	for id, r := range f.json["Resources"].(map[string]any) {
		m := r.(map[string]any)
		p, _ := m["Properties"].(map[string]any)
		switch m["Type"] {
		case "AWS::IAM::Role":
			if mp, ok := p["ManagedPolicyArns"]; ok {
				t.Errorf("%s: managed policies %v (their statements are not ours to scope)", id, mp)
			}
		case "AWS::IAM::Policy":
			for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := s.(map[string]any)
				n++
				if st["Effect"] != "Allow" {
					continue
				}
				acts, ok := st["Action"].([]any)
				if !ok {
					acts = []any{st["Action"]}
				}
				for _, a := range acts {
					if strings.Contains(fmt.Sprint(a), "*") {
						t.Errorf("%s: wildcard action %v", id, a)
					}
				}
				rs, ok := st["Resource"].([]any)
				if !ok {
					rs = []any{st["Resource"]}
				}
				for _, r := range rs {
					fl := flatten(r)
					if strings.Contains(fl, "*") && !scopedWildcard.MatchString(fl) {
						t.Errorf("%s: wildcard resource %s (%v)", id, fl, r)
					}
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d statements checked", n)
	}
}

func TestAlarms(t *testing.T) {
	f := fullStack(t)
	check(t, "alarm count", func() {
		// 5 function errors, 3 function DLQs + notices DLQ, poll stopped, overdue batches
		f.tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(11))
		f.tpl.AllResourcesProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmActions", arrayWith(obj("Ref", logicalID(t, f, "AlarmTopic")))))
	})
	check(t, "errors", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-poll-errors", "Namespace", "AWS/Lambda",
			"MetricName", "Errors", "Threshold", 1, "ComparisonOperator", "GreaterThanOrEqualToThreshold"))
	})
	check(t, "DLQ depth", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-intake-dlq", "Namespace", "AWS/SQS",
			"MetricName", "ApproximateNumberOfMessagesVisible", "Dimensions", []any{obj("Name", "QueueName", "Value", obj("Fn::GetAtt", []any{logicalID(t, f, "IntakeDLQ"), "QueueName"}))}))
	})
	check(t, "polling stopped", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-poll-stopped", "MetricName", "Invocations",
			"Threshold", 1, "ComparisonOperator", "LessThanThreshold", "EvaluationPeriods", 3, "Period", 300, "TreatMissingData", "breaching"))
	})
	check(t, "overdue batches (EMF metric of poll)", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-overdue-batches", "Namespace", MetricNamespace,
			"MetricName", MetricOverdueBatches, "Statistic", "Maximum", "ComparisonOperator", "GreaterThanThreshold", "Threshold", 0))
	})
	check(t, "alarm topic encrypted", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj("KmsMasterKeyId", assertions.Match_AnyValue()))
	})
}

func TestHTTPAPICognito(t *testing.T) {
	f := fullStack(t)
	check(t, "JWT authorizer from the user pool", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj("AuthorizerType", "JWT",
			"JwtConfiguration", objectLike("Audience", assertions.Match_AnyValue(), "Issuer", assertions.Match_AnyValue())))
		f.tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(5))
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj("RouteKey", "ANY /api/v1/{proxy+}", "AuthorizationType", "JWT"))
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), obj("RouteKey", "GET /", "AuthorizationType", "NONE"))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj("FunctionName", "casellario-api", "Environment", obj("Variables", objectLike(
			"CASELLARIO_OIDC_ISSUER", assertions.Match_AnyValue(), "CASELLARIO_OIDC_AUDIENCE", assertions.Match_AnyValue()))))
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), obj("Schema", arrayWith(objectLike("Name", "office"), objectLike("Name", "tenant"))))
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), obj("GroupName", "protocollo"))
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), obj("DeletionProtection", "ACTIVE",
			"AdminCreateUserConfig", objectLike("AllowAdminCreateUserOnly", true)))
		f.tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), jsii.Number(11)) // protocollo, 8 offices of Prato, 2 of Vaiano
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), obj("GroupName", "c_g999:SUAP"))
	})
}

func TestHTTPAPIExternalIssuer(t *testing.T) {
	cfg := testConfig(t, "intake", "dispatch", "poll", "api", "notify")
	cfg.JWTIssuer, cfg.JWTAudience = "https://login.example.it/realms/comuni", []string{"casellario"}
	f := synth(t, cfg)
	check(t, "external issuer, no user pool", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPool"), jsii.Number(0))
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj("AuthorizerType", "JWT",
			"JwtConfiguration", obj("Audience", []any{"casellario"}, "Issuer", "https://login.example.it/realms/comuni")))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj("FunctionName", "casellario-api", "Environment", obj("Variables", objectLike(
			"CASELLARIO_OIDC_ISSUER", "https://login.example.it/realms/comuni", "CASELLARIO_OIDC_AUDIENCE", "casellario"))))
	})
}

// Today functions/api and functions/notify do not exist: the stack leaves them out, with a warning.
func TestMissingFunctionsSkipped(t *testing.T) {
	f := synth(t, testConfig(t, "intake", "dispatch", "poll"))
	if fmt.Sprint(f.stack.Skipped) != "[api notify]" {
		t.Fatalf("skipped %v", f.stack.Skipped)
	}
	check(t, "three functions, no API", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(3))
		f.tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Api"), jsii.Number(0))
		f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(0))
		f.tpl.ResourceCountIs(jsii.String("AWS::Scheduler::Schedule"), jsii.Number(4))
	})
	check(t, "warning", func() {
		assertions.Annotations_FromStack(f.stack.Stack).HasWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("function api left out")))
	})
}

func TestConfigRefusesInlinePasswords(t *testing.T) {
	cfg := testConfig(t)
	tc := tenants.Demo() // inline passwords: the local run's file
	cfg.Tenants = tc
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "inline password") {
		t.Fatalf("Validate() = %v, want an inline-password error", err)
	}
	cfg = testConfig(t)
	cfg.DispatchCron = "rate(1 day)"
	if err := cfg.Validate(); err == nil {
		t.Fatal("a rate() dispatch expression was accepted")
	}
}

func TestDiagram(t *testing.T) {
	f := fullStack(t)
	got := Diagram(f.json)
	const golden = "ARCHITECTURE.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run: go test ./ -run TestDiagram -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s is stale: run `make -f infra/infra.mk diagram` (go test -run TestDiagram -update)\n%s", golden, got)
	}
	for _, s := range []string{"IntakeFunction", "casellario-poll-c-g999", "Notices --SQS batch 10--> NotifyFunction", "JWT authorizer"} {
		if !strings.Contains(got, s) {
			t.Errorf("diagram lacks %q", s)
		}
	}
}
