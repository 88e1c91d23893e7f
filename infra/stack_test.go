package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
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

const testDeployment = "testdata/deployment.json"

var allFunctions = []string{"intake", "dispatch", "poll", "api", "notify"}

// placeholderZips writes a zip with a bootstrap for each function named into dir.
func placeholderZips(t *testing.T, dir string, functions ...string) map[string]string {
	t.Helper()
	zips := map[string]string{}
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
		zips[f] = p
	}
	return zips
}

// testConfig is the configuration of the tests: testdata/deployment.json (two tenants; Vaiano with an
// external protocol register, so three secrets plus SMTP) changed by edit, placeholder zips for the
// functions named.
func testConfig(t *testing.T, edit func(d *deploy.Deployment), functions ...string) *Config {
	t.Helper()
	d, err := deploy.Load(testDeployment)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(d)
	}
	tc, err := tenants.Load(d.File(d.TenantsFile))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := &Config{Deployment: d, Tenants: tc, ConfigDir: filepath.Join(dir, "layer"), Zips: placeholderZips(t, dir, functions...)}
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
)

func synth(t *testing.T, cfg *Config) *synthed {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	d := cfg.Deployment
	st, err := NewStack(app, StackName, &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(d.Account), Region: jsii.String(d.Region)}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fromStack(t, st)
}

func fromStack(t *testing.T, st *Stack) *synthed {
	t.Helper()
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

// fullStack is the stack of testdata/deployment.json with all five functions and a Cognito user pool,
// as every deploy after the first (deletion protection on), synthesized once.
func fullStack(t *testing.T) *synthed {
	fullOnce.Do(func() {
		full = synth(t, testConfig(t, nil, allFunctions...))
	})
	if full == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return full
}

var (
	variantOnce sync.Once
	variant     *synthed
)

// variantStack is the other shape: the first create (no deletion protection), an external OIDC issuer,
// the page at the HTTP API's own address, Prato live and a reserved concurrency asked for.
func variantStack(t *testing.T) *synthed {
	variantOnce.Do(func() {
		cfg := testConfig(t, func(d *deploy.Deployment) {
			d.Auth = deploy.Auth{Issuer: "https://login.comune.prato.it/realms/comuni", Audience: []string{"casellario"},
				ClientID: "casellario-web", AuthorizeURL: "https://login.comune.prato.it/realms/comuni/protocol/openid-connect/auth",
				TokenURL: "https://login.comune.prato.it/realms/comuni/protocol/openid-connect/token", ProtocolGroup: "protocollo"}
			d.Page.PublicURL, d.Page.CustomDomain = deploy.APIEndpoint, nil
			d.Schedules.Live = []string{"c_g999"}
			d.Functions.PollReservedConcurrency = 2
		}, allFunctions...)
		cfg.FirstCreate = true
		variant = synth(t, cfg)
	})
	if variant == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return variant
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

// resources returns the logical ids and properties of the resources of type typ.
func resources(f *synthed, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range f.json["Resources"].(map[string]any) {
		m := r.(map[string]any)
		if m["Type"] == typ {
			p, _ := m["Properties"].(map[string]any)
			out[id] = p
		}
	}
	return out
}

// function returns the properties of casellario-<name>.
func function(t *testing.T, f *synthed, name string) map[string]any {
	t.Helper()
	for _, p := range resources(f, "AWS::Lambda::Function") {
		if p["FunctionName"] == "casellario-"+name {
			return p
		}
	}
	t.Fatalf("no function casellario-%s", name)
	return nil
}

func envOf(t *testing.T, f *synthed, name string) map[string]any {
	t.Helper()
	return function(t, f, name)["Environment"].(map[string]any)["Variables"].(map[string]any)
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
			"Id", "documents-retention", "ExpirationInDays", deploy.DefaultRetentionDays, "NoncurrentVersionExpiration", objectLike("NoncurrentDays", 30))))))
	})
	check(t, "uploads retention", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj("LifecycleConfiguration", objectLike("Rules", arrayWith(objectLike(
			"Id", "uploaded-lists", "ExpirationInDays", deploy.DefaultUploadRetentionDays)))))
	})
	check(t, "certificate ZIPs go after a day", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj("LifecycleConfiguration", objectLike("Rules", arrayWith(objectLike(
			"Id", "certificate-zips", "Prefix", "zips/", "ExpirationInDays", 1)))))
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
	// Page uploads (<id>/list.csv) and office drops (<name>.csv) both end in the extension.
	var suffixes []string
	for _, p := range resources(f, "AWS::S3::Bucket") {
		nc, ok := p["NotificationConfiguration"].(map[string]any)
		if !ok {
			continue
		}
		for _, lc := range nc["LambdaConfigurations"].([]any) {
			m := lc.(map[string]any)
			if fmt.Sprint(m["Function"]) != fmt.Sprint(map[string]any{"Fn::GetAtt": []any{logicalID(t, f, "IntakeFunction"), "Arn"}}) || m["Event"] != "s3:ObjectCreated:*" {
				t.Errorf("notification %v", m)
			}
			for _, r := range m["Filter"].(map[string]any)["S3Key"].(map[string]any)["Rules"].([]any) {
				suffixes = append(suffixes, fmt.Sprint(r.(map[string]any)["Value"]))
			}
		}
	}
	sort.Strings(suffixes)
	if fmt.Sprint(suffixes) != "[.csv .json .xlsx]" {
		t.Errorf("intake suffixes %v, want .csv .json .xlsx", suffixes)
	}
	check(t, "S3 may invoke intake", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), obj("Principal", "s3.amazonaws.com", "Action", "lambda:InvokeFunction",
			"SourceAccount", assertions.Match_AnyValue(), "SourceArn", assertions.Match_AnyValue()))
	})
}

// The page's presigned PUT of a large list and GET of a certificate: the uploads bucket answers the
// browser's CORS for PUT, the documents bucket for GET, from the page's origin only.
func TestBucketsCORS(t *testing.T) {
	for _, tt := range []struct {
		name   string
		f      func(*testing.T) *synthed
		origin string
	}{
		{"own domain", fullStack, `"https://casellario.comune.prato.it"`},
		{"API endpoint", variantStack, `{"Fn::GetAtt":["`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			methods := map[string]string{}
			for id, p := range resources(tt.f(t), "AWS::S3::Bucket") {
				c, ok := p["CorsConfiguration"].(map[string]any)
				if !ok {
					continue
				}
				rules := c["CorsRules"].([]any)
				if len(rules) != 1 {
					t.Fatalf("%s: CORS rules %v, want one", id, rules)
				}
				r := rules[0].(map[string]any)
				origins, _ := json.Marshal(r["AllowedOrigins"])
				if !strings.HasPrefix(string(origins), "["+tt.origin) || len(r["AllowedOrigins"].([]any)) != 1 {
					t.Errorf("%s: CORS origins %s, want the page's", id, origins)
				}
				if strings.HasSuffix(string(origins), `/"]`) {
					t.Errorf("%s: origin %s ends in a slash: a browser's Origin never does", id, origins)
				}
				methods[strings.TrimRight(id, "0123456789ABCDEF")] = fmt.Sprint(r["AllowedMethods"])
			}
			if fmt.Sprint(methods) != "map[DocumentsBucket:[GET] UploadsBucket:[PUT]]" {
				t.Errorf("CORS methods by bucket %v", methods)
			}
		})
	}
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

// Data survives updates and stack deletion, but a failed create leaves nothing that would stop the retry:
// RetainExceptOnCreate everywhere, plain Retain nowhere.
func TestRemovalPolicies(t *testing.T) {
	for name, f := range map[string]*synthed{"full": fullStack(t), "first create": variantStack(t)} {
		t.Run(name, func(t *testing.T) {
			kept := map[string]int{}
			for id, r := range f.json["Resources"].(map[string]any) {
				m := r.(map[string]any)
				// UpdateReplacePolicy Retain is right (a replaced resource keeps its data) and does not apply
				// to a rolled-back create.
				if m["DeletionPolicy"] == "Retain" {
					t.Errorf("%s (%s): DeletionPolicy Retain: a rolled-back create would leave it behind", id, m["Type"])
				}
				if m["DeletionPolicy"] == "RetainExceptOnCreate" {
					kept[m["Type"].(string)]++
				}
			}
			for typ, n := range map[string]int{"AWS::S3::Bucket": 2, "AWS::DynamoDB::Table": 1, "AWS::KMS::Key": 1,
				"AWS::SecretsManager::Secret": 4, "AWS::SQS::Queue": 5, "AWS::Lambda::LayerVersion": 1} {
				if kept[typ] != n {
					t.Errorf("%s: %d resources RetainExceptOnCreate, want %d", typ, kept[typ], n)
				}
			}
		})
	}
	check(t, "user pool kept", func() {
		fullStack(t).tpl.HasResource(jsii.String("AWS::Cognito::UserPool"), obj("DeletionPolicy", "RetainExceptOnCreate", "UpdateReplacePolicy", "Retain"))
	})
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
	got := resources(f, "AWS::DynamoDB::Table")[logicalID(t, f, "Table")]["AttributeDefinitions"].([]any)
	if len(got) != len(in.AttributeDefinitions) {
		t.Fatalf("attribute definitions: %d, want %d", len(got), len(in.AttributeDefinitions))
	}
}

// The first create carries no deletion protection, so that a failure rolls it back whole; every later
// deploy (make deploy finds the stack) turns it on.
func TestDeletionProtectionAfterFirstCreate(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    *synthed
		want bool
	}{{"later deploys", fullStack(t), true}, {"first create", variantStack(t), false}} {
		t.Run(tt.name, func(t *testing.T) {
			for id, p := range resources(tt.f, "AWS::DynamoDB::Table") {
				if p["DeletionProtectionEnabled"] != tt.want {
					t.Errorf("%s: DeletionProtectionEnabled %v, want %v", id, p["DeletionProtectionEnabled"], tt.want)
				}
			}
		})
	}
	check(t, "user pool protected", func() {
		fullStack(t).tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), obj("DeletionProtection", "ACTIVE"))
	})
}

// What each function gets from the deployment file and the stack (the functions' code reads these names).
func TestFunctionEnvironment(t *testing.T) {
	f := fullStack(t)
	common := []string{"CASELLARIO_TABLE", "CASELLARIO_RETENTION", "CASELLARIO_TENANTS"}
	docs := []string{"CASELLARIO_UPLOADS_BUCKET", "CASELLARIO_DOCUMENTS_BUCKET", "CASELLARIO_SSE", "CASELLARIO_KMS_KEY_ID"}
	want := map[string][]string{
		"intake":   {"CASELLARIO_NOTIFY_QUEUE_URL"},
		"dispatch": {"CASELLARIO_NOTIFY_QUEUE_URL", "CASELLARIO_PEC_TRUST", "CASELLARIO_GRACE"},
		"poll": {"CASELLARIO_NOTIFY_QUEUE_URL", "CASELLARIO_PEC_TRUST", "CASELLARIO_POLL_DEADLINE",
			"CASELLARIO_OVERDUE_AFTER"},
		"api": {"CASELLARIO_PEC_TRUST", "CASELLARIO_PROTOCOL_GROUP", "CASELLARIO_PUBLIC_URL", "CASELLARIO_OIDC_ISSUER",
			"CASELLARIO_OIDC_AUDIENCE", "CASELLARIO_OIDC_CLIENT_ID", "CASELLARIO_OIDC_AUTHORIZE_URL", "CASELLARIO_OIDC_TOKEN_URL", "CASELLARIO_OIDC_LOGOUT_URL",
			"CASELLARIO_ACCESSIBILITY_URL", "CASELLARIO_PRIVACY_URL", "CASELLARIO_LEGAL_URL"},
		"notify": {"CASELLARIO_SMTP_SECRET", "CASELLARIO_SMTP_HOST", "CASELLARIO_SMTP_PORT", "CASELLARIO_SMTP_FROM",
			"CASELLARIO_SMTP_USER", "CASELLARIO_SMTP_TLS", "CASELLARIO_PUBLIC_URL"},
	}
	for fn, extra := range want {
		t.Run(fn, func(t *testing.T) {
			keys := append(append([]string{}, common...), extra...)
			if fn != "notify" {
				keys = append(keys, docs...)
			}
			sort.Strings(keys)
			var got []string
			for k, v := range envOf(t, f, fn) {
				got = append(got, k)
				// No credential in the environment: every value is a reference or a plain setting.
				if strings.Contains(strings.ToLower(k), "password") || strings.Contains(strings.ToLower(fmt.Sprint(v)), "password") {
					t.Errorf("environment %s looks like a credential", k)
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) != fmt.Sprint(keys) {
				t.Errorf("environment\n got %v\nwant %v", got, keys)
			}
		})
	}
	for _, tt := range []struct{ fn, key, want string }{
		{"dispatch", "CASELLARIO_PEC_TRUST", LayerDir + "/pec-trust.pem"},
		{"poll", "CASELLARIO_PEC_TRUST", LayerDir + "/pec-trust.pem"},
		{"poll", "CASELLARIO_POLL_DEADLINE", "4m"},
		{"poll", "CASELLARIO_OVERDUE_AFTER", "240h"},
		{"dispatch", "CASELLARIO_GRACE", "5m"},
		{"intake", "CASELLARIO_RETENTION", "8760h"},
		{"api", "CASELLARIO_PUBLIC_URL", "https://casellario.comune.prato.it/"},
		{"api", "CASELLARIO_ACCESSIBILITY_URL", "https://form.agid.gov.it/view/comune-di-prato-casellario"},
		{"api", "CASELLARIO_PRIVACY_URL", "https://www.comune.prato.it/it/privacy"},
		{"api", "CASELLARIO_LEGAL_URL", "https://www.comune.prato.it/it/note-legali"},
		{"api", "CASELLARIO_PROTOCOL_GROUP", "protocollo"},
		{"notify", "CASELLARIO_PUBLIC_URL", "https://casellario.comune.prato.it/"},
		{"notify", "CASELLARIO_SMTP_SECRET", SMTPSecretName},
		{"notify", "CASELLARIO_SMTP_HOST", "email-smtp.eu-south-1.amazonaws.com"},
		{"notify", "CASELLARIO_SMTP_USER", "AKIAEXAMPLESMTPUSER"},
		{"notify", "CASELLARIO_SMTP_PORT", "587"},
	} {
		if got := envOf(t, f, tt.fn)[tt.key]; got != tt.want {
			t.Errorf("%s %s = %v, want %q", tt.fn, tt.key, got, tt.want)
		}
	}
	// The Cognito endpoints are built from the stack's own domain.
	for k, suffix := range map[string]string{"CASELLARIO_OIDC_AUTHORIZE_URL": "/oauth2/authorize", "CASELLARIO_OIDC_TOKEN_URL": "/oauth2/token",
		"CASELLARIO_OIDC_LOGOUT_URL": "/logout"} {
		if v := fmt.Sprint(envOf(t, f, "api")[k]); !strings.Contains(v, suffix) || !strings.Contains(v, logicalID(t, f, "UsersSignIn")) {
			t.Errorf("api %s = %s", k, v)
		}
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
			"Environment", obj("Variables", objectLike("CASELLARIO_TENANTS", LayerDir+"/tenants.json")),
		))
	})
	check(t, "log retention", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(5))
		f.tpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), obj("RetentionInDays", 90))
	})
	// No reserved concurrency unless the deployment file asks (a new account cannot reserve any); every
	// async-invoked function has a DLQ.
	for id, p := range resources(f, "AWS::Lambda::Function") {
		name := p["FunctionName"].(string)
		if rc, ok := p["ReservedConcurrentExecutions"]; ok {
			t.Errorf("%s: reserved concurrency %v by default", id, rc)
		}
		_, dlq := p["DeadLetterConfig"]
		if want := name == "casellario-intake" || name == "casellario-dispatch" || name == "casellario-poll"; dlq != want {
			t.Errorf("%s: dead-letter queue %v, want %v", name, dlq, want)
		}
	}
	if rc := function(t, variantStack(t), "poll")["ReservedConcurrentExecutions"]; rc != float64(2) {
		t.Errorf("poll with functions.pollReservedConcurrency 2: reserved %v", rc)
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

// Schedules are created disabled unless the Comune is listed live; their names are the ones the
// runbook and the enable command use.
func TestSchedules(t *testing.T) {
	tests := []struct {
		name  string
		f     *synthed
		state map[string]string
	}{
		{"nothing live", fullStack(t), map[string]string{
			"casellario-dispatch-c-g999": "DISABLED", "casellario-poll-c-g999": "DISABLED", "casellario-dispatch-resume-c-g999": "DISABLED",
			"casellario-dispatch-c-l537": "DISABLED", "casellario-poll-c-l537": "DISABLED", "casellario-dispatch-resume-c-l537": "DISABLED",
			"casellario-intake-sweep": "DISABLED"}},
		{"Prato live", variantStack(t), map[string]string{
			"casellario-dispatch-c-g999": "ENABLED", "casellario-poll-c-g999": "ENABLED", "casellario-dispatch-resume-c-g999": "ENABLED",
			"casellario-dispatch-c-l537": "DISABLED", "casellario-poll-c-l537": "DISABLED", "casellario-dispatch-resume-c-l537": "DISABLED",
			"casellario-intake-sweep": "ENABLED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, p := range resources(tt.f, "AWS::Scheduler::Schedule") {
				got[p["Name"].(string)] = p["State"].(string)
				if p["ScheduleExpressionTimezone"] != "Europe/Rome" {
					t.Errorf("%s: time zone %v", p["Name"], p["ScheduleExpressionTimezone"])
				}
				if g, ok := p["GroupName"]; ok && g != ScheduleGroup {
					t.Errorf("%s: group %v", p["Name"], g)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.state) {
				t.Errorf("schedules %v, want %v", got, tt.state)
			}
		})
	}
	f := fullStack(t)
	check(t, "targets", func() {
		f.tpl.AllResourcesProperties(jsii.String("AWS::Scheduler::Schedule"), obj(
			"Target", objectLike("DeadLetterConfig", obj("Arn", assertions.Match_AnyValue()), "RetryPolicy", assertions.Match_AnyValue(),
				"Input", assertions.Match_StringLikeRegexp(jsii.String(`"detail":\{(?:"resume":true,)?("tenant":"c_[a-z0-9]+")?\}`))),
		))
	})
	for name, expr := range map[string]string{
		"casellario-dispatch-c-g999": deploy.DefaultDispatchCron, "casellario-dispatch-c-l537": "cron(30 12 ? * MON-FRI *)",
		"casellario-poll-c-g999": deploy.DefaultPollCron, "casellario-poll-c-l537": deploy.DefaultPollCron,
		"casellario-dispatch-resume-c-g999": ResumeCron, "casellario-intake-sweep": SweepCron,
	} {
		check(t, name, func() {
			f.tpl.HasResourceProperties(jsii.String("AWS::Scheduler::Schedule"), obj("Name", name, "ScheduleExpression", expr))
		})
	}
	for _, tt := range []struct{ fn, tenant, want string }{
		{"poll", "c_g999", "casellario-poll-c-g999"}, {"dispatch", "c_l537", "casellario-dispatch-c-l537"}, {"poll", "comune-x", "casellario-poll-comune-x"},
	} {
		if got := ScheduleName(tt.fn, tt.tenant); got != tt.want {
			t.Errorf("ScheduleName(%s, %s) = %s, want %s", tt.fn, tt.tenant, got, tt.want)
		}
	}
	check(t, "schedule names output", func() {
		f.tpl.HasOutput(jsii.String("ScheduleNames"), obj("Value",
			`{"c_g999":{"dispatch":"casellario-dispatch-c-g999","dispatch-resume":"casellario-dispatch-resume-c-g999","poll":"casellario-poll-c-g999"},"c_l537":{"dispatch":"casellario-dispatch-c-l537","dispatch-resume":"casellario-dispatch-resume-c-l537","poll":"casellario-poll-c-l537"}}`))
	})
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
	for id, p := range resources(f, "AWS::SecretsManager::Secret") {
		secretName[id] = p["Name"].(string)
	}
	res := f.json["Resources"].(map[string]any)
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
	for _, p := range resources(f, "AWS::IAM::Policy") {
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
// bucket "arn/*" or of one prefix "arn/c_g999/*", versions of one function "arn:*").
var scopedWildcard = regexp.MustCompile(`^<ref>[^*]*[/:]\*$`)

// abacObjects: the office drop role's objects, chosen by the session's tags.
var abacObjects = regexp.MustCompile(`^<ref>/\$\{aws:PrincipalTag/tenant\}/\$\{aws:PrincipalTag/office\}/\*\.(csv|xlsx|json)$`)

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
	for id, p := range resources(f, "AWS::IAM::Role") {
		if mp, ok := p["ManagedPolicyArns"]; ok {
			t.Errorf("%s: managed policies %v (their statements are not ours to scope)", id, mp)
		}
	}
	for id, p := range resources(f, "AWS::IAM::Policy") {
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
				if strings.Contains(fl, "*") && !scopedWildcard.MatchString(fl) && !abacObjects.MatchString(fl) {
					t.Errorf("%s: wildcard resource %s (%v)", id, fl, r)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d statements checked", n)
	}
	// The api's presigned PUTs: s3:PutObject on the tenants' own prefixes of the uploads bucket only.
	var puts []string
	for _, st := range policyStatements(t, f, logicalID(t, f, "ApiRole")) {
		if fmt.Sprint(st["Action"]) == "s3:PutObject" {
			rs, _ := st["Resource"].([]any)
			for _, r := range rs {
				puts = append(puts, strings.TrimPrefix(flatten(r), "<ref>"))
			}
		}
	}
	// Only intake reads the uploads bucket: the others find what they need on the upload's record.
	for _, role := range []string{"DispatchRole", "PollRole", "NotifyRole"} {
		for _, st := range policyStatements(t, f, logicalID(t, f, role)) {
			if strings.Contains(fmt.Sprint(st["Resource"]), "casellario-uploads") {
				t.Errorf("%s reaches the uploads bucket: %v", role, st)
			}
		}
	}
	sort.Strings(puts)
	if fmt.Sprint(puts) != "[/c_g999/* /c_l537/*]" {
		t.Errorf("api s3:PutObject on uploads %v, want the two tenants' prefixes", puts)
	}
}

// One role for every office (O(1) resources): PutObject only at <tenant>/<office>/ from the session's
// tags, the key only through S3, assumable only with both tags.
func TestOfficeDropRole(t *testing.T) {
	f := fullStack(t)
	check(t, "role and trust", func() {
		f.tpl.ResourcePropertiesCountIs(jsii.String("AWS::IAM::Role"), obj("RoleName", OfficeDropRoleName), jsii.Number(1))
		f.tpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), obj("RoleName", OfficeDropRoleName,
			"AssumeRolePolicyDocument", objectLike("Statement", []any{objectLike(
				"Action", []any{"sts:AssumeRole", "sts:TagSession"}, "Effect", "Allow",
				"Condition", obj("StringLike", obj("aws:RequestTag/tenant", "?*", "aws:RequestTag/office", "?*"),
					"ForAllValues:StringEquals", obj("aws:TagKeys", []any{"tenant", "office"})))})))
	})
	var actions, objects []string
	for _, st := range policyStatements(t, f, logicalID(t, f, "OfficeDropRole")) {
		actions = append(actions, fmt.Sprint(st["Action"]))
		if fmt.Sprint(st["Action"]) == "s3:PutObject" {
			for _, r := range st["Resource"].([]any) {
				objects = append(objects, flatten(r))
			}
		} else if c := fmt.Sprint(st["Condition"]); !strings.Contains(c, "kms:ViaService") {
			t.Errorf("key use without kms:ViaService: %v", st)
		}
	}
	sort.Strings(actions)
	if fmt.Sprint(actions) != "[[kms:GenerateDataKey kms:Decrypt] s3:PutObject]" {
		t.Errorf("drop role actions %v", actions)
	}
	if len(objects) != 3 {
		t.Fatalf("drop role objects %v", objects)
	}
	for _, o := range objects {
		if !abacObjects.MatchString(o) {
			t.Errorf("drop role object %s", o)
		}
	}
}

func TestAlarms(t *testing.T) {
	f := fullStack(t)
	check(t, "alarm count", func() {
		// 5 function errors, 3 function DLQs + notices DLQ, overdue batches; poll-stopped only once a
		// Comune is live (nothing calls poll before).
		f.tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(10))
		variantStack(t).tpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(11))
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
		variantStack(t).tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-poll-stopped", "MetricName", "Invocations",
			"Threshold", 1, "ComparisonOperator", "LessThanThreshold", "EvaluationPeriods", 3, "Period", 300, "TreatMissingData", "breaching"))
	})
	check(t, "overdue batches (EMF metric of poll)", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj("AlarmName", "casellario-overdue-batches", "Namespace", MetricNamespace,
			"MetricName", MetricOverdueBatches, "Statistic", "Maximum", "ComparisonOperator", "GreaterThanThreshold", "Threshold", 0))
	})
	check(t, "alarm topic encrypted, e-mailed", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), obj("KmsMasterKeyId", assertions.Match_AnyValue()))
		f.tpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), obj("Protocol", "email", "Endpoint", "sistemi.informativi@comune.prato.it"))
	})
	// The topic policy lets CloudWatch publish, for this account's alarms only, besides the TLS deny.
	check(t, "CloudWatch may publish", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), obj("PolicyDocument", objectLike("Statement", arrayWith(
			objectLike("Effect", "Deny", "Condition", obj("Bool", obj("aws:SecureTransport", "false"))),
			objectLike("Effect", "Allow", "Action", "sns:Publish", "Principal", obj("Service", "cloudwatch.amazonaws.com"),
				"Condition", objectLike("StringEquals", obj("aws:SourceAccount", obj("Ref", "AWS::AccountId")))),
		))))
	})
}

func TestDashboard(t *testing.T) {
	f := fullStack(t)
	check(t, "one dashboard", func() {
		f.tpl.ResourcePropertiesCountIs(jsii.String("AWS::CloudWatch::Dashboard"), obj("DashboardName", DashboardName), jsii.Number(1))
	})
	body := ""
	for _, p := range resources(f, "AWS::CloudWatch::Dashboard") {
		b, _ := json.Marshal(p["DashboardBody"])
		body = string(b)
	}
	for _, want := range []string{`\"AWS/Lambda\",\"Invocations\"`, `\"AWS/Lambda\",\"Errors\"`, `\"AWS/Lambda\",\"Throttles\"`,
		`Casellario\",\"OverdueBatches`, `ApproximateNumberOfMessagesVisible`, `\"type\":\"alarm\"`, `poll: runs and errors`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	for id := range resources(f, "AWS::CloudWatch::Alarm") {
		if !strings.Contains(body, id) {
			t.Errorf("dashboard's alarm widget lacks %s", id)
		}
	}
}

// routeAuth maps each route key to its authorization type.
func routeAuth(f *synthed) map[string]string {
	out := map[string]string{}
	for _, p := range resources(f, "AWS::ApiGatewayV2::Route") {
		a, _ := p["AuthorizationType"].(string)
		if _, ok := p["AuthorizerId"]; ok && a == "" {
			a = "JWT"
		}
		out[p["RouteKey"].(string)] = a
	}
	return out
}

// Public routes without the authorizer, everything else under /api/v1/ behind it.
func TestRoutes(t *testing.T) {
	for name, f := range map[string]*synthed{"cognito": fullStack(t), "external issuer": variantStack(t)} {
		t.Run(name, func(t *testing.T) {
			got := routeAuth(f)
			if len(got) != len(PublicRoutes)+len(PrivateRoutes) {
				t.Errorf("routes %v", got)
			}
			for _, r := range PublicRoutes {
				if got[r] != "NONE" {
					t.Errorf("public route %s: authorization %q, want NONE", r, got[r])
				}
			}
			for _, r := range PrivateRoutes {
				if got[r] != "JWT" {
					t.Errorf("private route %s: authorization %q, want JWT", r, got[r])
				}
			}
			for r, a := range got {
				if strings.HasPrefix(r, "ANY /api/") && a != "JWT" {
					t.Errorf("%s is not behind the authorizer", r)
				}
			}
		})
	}
	for _, want := range []string{"GET /api/v1/config", "GET /api/v1/openapi.json", "GET /api/v1/template.xlsx", "GET /"} {
		found := false
		for _, r := range PublicRoutes {
			found = found || r == want
		}
		if !found {
			t.Errorf("%s is not public", want)
		}
	}
}

func TestHTTPAPICognito(t *testing.T) {
	f := fullStack(t)
	check(t, "JWT authorizer from the user pool", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj("AuthorizerType", "JWT",
			"JwtConfiguration", objectLike("Audience", assertions.Match_AnyValue(), "Issuer", assertions.Match_AnyValue())))
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), obj("AdminCreateUserConfig", objectLike("AllowAdminCreateUserOnly", true)))
	})
	check(t, "one group: the protocol office (offices are custom:office)", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolGroup"), jsii.Number(1))
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolGroup"), obj("GroupName", "protocollo"))
	})
	check(t, "sign-in domain from the deployment file", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), obj("Domain", "casellario-prato"))
	})
	check(t, "page at its own domain", func() {
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), obj("DomainName", "casellario.comune.prato.it"))
		f.tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::ApiMapping"), jsii.Number(1))
	})
	// The app client: authorization code with PKCE (public: no secret), openid and email only, back to
	// the page's own address.
	clients := resources(f, "AWS::Cognito::UserPoolClient")
	if len(clients) != 1 {
		t.Fatalf("%d app clients", len(clients))
	}
	for id, p := range clients {
		for _, tt := range []struct {
			key  string
			want any
		}{
			{"AllowedOAuthFlows", []any{"code"}},
			{"AllowedOAuthScopes", []any{"openid", "email"}},
			{"AllowedOAuthFlowsUserPoolClient", true},
			{"GenerateSecret", false},
			{"CallbackURLs", []any{"https://casellario.comune.prato.it/"}},
			{"LogoutURLs", []any{"https://casellario.comune.prato.it/"}},
			{"SupportedIdentityProviders", []any{"COGNITO"}},
			{"WriteAttributes", []any{"email"}},
			{"ExplicitAuthFlows", []any{"ALLOW_REFRESH_TOKEN_AUTH"}},
		} {
			if fmt.Sprint(p[tt.key]) != fmt.Sprint(tt.want) {
				t.Errorf("%s %s = %v, want %v", id, tt.key, p[tt.key], tt.want)
			}
		}
		b, _ := json.Marshal(p)
		for _, bad := range []string{"implicit", "aws.cognito.signin.user.admin", "example.com"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s mentions %s: %s", id, bad, b)
			}
		}
	}
	b, _ := json.Marshal(f.json)
	if strings.Contains(string(b), "example.com") {
		t.Error("the template holds example.com")
	}
}

// The user pool's schema must not change: CloudFormation replaces the pool for it and every clerk's
// account is lost. Change this test only together with a migration plan.
func TestUserPoolSchemaFrozen(t *testing.T) {
	for id, p := range resources(fullStack(t), "AWS::Cognito::UserPool") {
		b, _ := json.Marshal(p["Schema"])
		const want = `[{"AttributeDataType":"String","Mutable":true,"Name":"office","StringAttributeConstraints":{"MaxLength":"32","MinLength":"1"}},` +
			`{"AttributeDataType":"String","Mutable":true,"Name":"tenant","StringAttributeConstraints":{"MaxLength":"32","MinLength":"2"}}]`
		if string(b) != want {
			t.Errorf("%s schema changed (this replaces the pool and loses every user):\n got %s\nwant %s", id, b, want)
		}
	}
}

func TestHTTPAPIExternalIssuer(t *testing.T) {
	f := variantStack(t)
	check(t, "external issuer, no user pool", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPool"), jsii.Number(0))
		f.tpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), obj("AuthorizerType", "JWT",
			"JwtConfiguration", obj("Audience", []any{"casellario"}, "Issuer", "https://login.comune.prato.it/realms/comuni")))
		f.tpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), obj("FunctionName", "casellario-api", "Environment", obj("Variables", objectLike(
			"CASELLARIO_OIDC_ISSUER", "https://login.comune.prato.it/realms/comuni", "CASELLARIO_OIDC_AUDIENCE", "casellario",
			"CASELLARIO_OIDC_CLIENT_ID", "casellario-web",
			"CASELLARIO_OIDC_AUTHORIZE_URL", "https://login.comune.prato.it/realms/comuni/protocol/openid-connect/auth",
			"CASELLARIO_OIDC_TOKEN_URL", "https://login.comune.prato.it/realms/comuni/protocol/openid-connect/token"))))
	})
	// page.publicUrl "api-endpoint": the page's address is the HTTP API's own, for the api and notify.
	for _, fn := range []string{"api", "notify"} {
		v := fmt.Sprint(envOf(t, f, fn)["CASELLARIO_PUBLIC_URL"])
		if !strings.Contains(v, logicalID(t, f, "Api")) || !strings.Contains(v, "ApiEndpoint") {
			t.Errorf("%s CASELLARIO_PUBLIC_URL = %s, want the API's endpoint", fn, v)
		}
	}
}

// The app builds the stack from a deployment file: its account and Region are the stack's environment,
// in the cloud assembly's manifest too. Missing function zips are left out with a warning.
func TestAppFromDeploymentFile(t *testing.T) {
	dir := t.TempDir()
	placeholderZips(t, dir, "intake", "dispatch", "poll")
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
	ctx := map[string]any{"deployment": testDeployment, "buildDir": dir, "configDir": filepath.Join(dir, "layer")}
	var notes strings.Builder
	st, err := build(app, func(k string) any { return ctx[k] }, &notes)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Skipped) != "[api notify]" || !strings.Contains(notes.String(), "[api notify] have no zip") {
		t.Fatalf("skipped %v, notes %q", st.Skipped, notes.String())
	}
	if r := *st.Region(); r != "eu-south-1" {
		t.Errorf("stack Region %s", r)
	}
	app.Synth(nil)
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Artifacts map[string]struct {
			Environment string `json:"environment"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if env := manifest.Artifacts[StackName].Environment; env != "aws://123456789012/eu-south-1" {
		t.Errorf("manifest environment %q, want aws://123456789012/eu-south-1", env)
	}
	f := fromStack(t, st)
	check(t, "three functions, no API", func() {
		f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(3))
		f.tpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Api"), jsii.Number(0))
		f.tpl.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(0))
		f.tpl.ResourceCountIs(jsii.String("AWS::Scheduler::Schedule"), jsii.Number(7)) // per Comune dispatch, resume and poll; one sweep
	})
	check(t, "warning", func() {
		assertions.Annotations_FromStack(f.stack.Stack).HasWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("function api left out")))
	})
}

func TestAppErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		ctx  map[string]any
		want string
	}{
		{"no deployment", map[string]any{"buildDir": dir}, "no deployment: pass -c deployment=NAME"},
		{"no such deployment", map[string]any{"deployment": "nowhere", "buildDir": dir}, "deployments/nowhere.json"},
		{"zips required", map[string]any{"deployment": testDeployment, "buildDir": dir, "requireAllFunctions": "true"}, "no zip for [intake dispatch poll api notify]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			_, err := build(app, func(k string) any { return tt.ctx[k] }, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("build: %v, want %q", err, tt.want)
			}
		})
	}
}

// A province's table: 24 Comuni of 15 offices each stay well under CloudFormation's 500 resources in
// one stack (offices add no resource).
func TestScaleProvince(t *testing.T) {
	tc, err := tenants.Load("testdata/tenants.json")
	if err != nil {
		t.Fatal(err)
	}
	base := tc.Tenants[0]
	var many []tenants.Tenant
	for i := 0; i < 24; i++ {
		tn := base
		tn.ID = fmt.Sprintf("c_x%03d", i)
		tn.PEC.Auth = tenants.Secret{Secret: "casellario/pec/" + tn.ID}
		tn.PEC.Address = fmt.Sprintf("protocollo@pec.comune%03d.test", i)
		tn.PEC.Username = tn.PEC.Address
		tn.Offices = nil
		for j := 0; j < 15; j++ {
			o := base.Offices[0]
			o.Code = fmt.Sprintf("UFF%02d", j)
			tn.Offices = append(tn.Offices, o)
		}
		many = append(many, tn)
	}
	tc.Tenants = many
	file := filepath.Join(t.TempDir(), "tenants.json")
	b, _ := json.Marshal(tc)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, func(d *deploy.Deployment) {
		abs, _ := filepath.Abs(file)
		d.TenantsFile = abs
		d.Schedules.DispatchCronByTenant = nil
	}, allFunctions...)
	if cfg.Tenants, err = tenants.Load(file); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Stage(); err != nil {
		t.Fatal(err)
	}
	f := synth(t, cfg)
	n := len(f.json["Resources"].(map[string]any))
	demo := len(fullStack(t).json["Resources"].(map[string]any))
	t.Logf("resources: %d for 2 Comuni (10 offices), %d for 24 Comuni x 15 offices", demo, n)
	if n >= 400 {
		t.Errorf("%d resources for 24 x 15: want well under CloudFormation's 500", n)
	}
	outputs := len(f.json["Outputs"].(map[string]any))
	if outputs > 200 {
		t.Errorf("%d outputs: CloudFormation allows 200", outputs)
	}
	for k, v := range f.json["Outputs"].(map[string]any) {
		if len(fmt.Sprint(v.(map[string]any)["Value"])) > 4096 {
			t.Errorf("output %s exceeds 4,096 characters", k)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"inline password", func(c *Config) { c.Tenants = tenants.Demo() }, "inline password"},
		{"no secret name", func(c *Config) { c.Tenants.Tenants[0].PEC.Auth = tenants.Secret{} }, "pec.auth.secret is required"},
		{"inline register password", func(c *Config) {
			c.Tenants.Tenants[1].Protocol.Auth = tenants.Secret{Password: "x"}
		}, "protocol.auth has an inline password"},
		{"schedule names collide", func(c *Config) {
			t2 := c.Tenants.Tenants[0]
			t2.ID = "c-g999"
			c.Tenants.Tenants = append(c.Tenants.Tenants, t2)
		}, "would share the schedule name casellario-poll-c-g999"},
		{"live tenant unknown", func(c *Config) { c.Deployment.Schedules.Live = []string{"c_z999"} }, "schedules.live: c_z999"},
		{"no tenants", func(c *Config) { c.Tenants.Tenants = nil }, "no tenants"},
		{"trust store not a PEM", func(c *Config) { c.Deployment.PECTrustFile = "tenants.json" }, "holds no certificate"},
		{"trust store missing", func(c *Config) { c.Deployment.PECTrustFile = "nowhere.pem" }, "pecTrustFile"},
		{"TLS roots missing", func(c *Config) { c.Deployment.TLSRootsFile = "nowhere.pem" }, "tlsRootsFile"},
		{"no deployment", func(c *Config) { c.Deployment = nil }, "no deployment file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, nil)
			tt.edit(cfg)
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	if err := testConfig(t, nil).Validate(); err != nil {
		t.Fatalf("the test deployment: %v", err)
	}
}

func TestStageTLSRoots(t *testing.T) {
	cfg := testConfig(t, func(d *deploy.Deployment) { d.TLSRootsFile = "../examples/pec-trust.pem" })
	for _, name := range []string{"tenants.json", "pec-trust.pem", "tls-roots.pem"} {
		if _, err := os.Stat(filepath.Join(cfg.ConfigDir, "casellario", name)); err != nil {
			t.Errorf("layer lacks %s: %v", name, err)
		}
	}
	if got := cfg.Deployment.Settings("poll")["CASELLARIO_TLS_ROOTS"]; got != LayerDir+"/tls-roots.pem" {
		t.Errorf("poll CASELLARIO_TLS_ROOTS = %q", got)
	}
	bad := testConfig(t, nil)
	bad.Deployment.TenantsFile = "nowhere.json"
	if err := bad.Stage(); err == nil {
		t.Error("Stage with a missing tenants file succeeded")
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
	for _, s := range []string{"IntakeFunction", "casellario-poll-c-g999", "Notices --SQS batch 10--> NotifyFunction", "JWT authorizer", "DISABLED"} {
		if !strings.Contains(got, s) {
			t.Errorf("diagram lacks %q", s)
		}
	}
}
