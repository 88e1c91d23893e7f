package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
	"github.com/casellario-pec/casellario/shared/preflight"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Names other tools rely on (casellario doctor, the enable command, the runbook).
const (
	StackName = "Casellario"
	// MetricNamespace and MetricOverdueBatches = poll.MetricNamespace, poll's OverdueBatches (Embedded
	// Metric Format): delivered batches without a reply after CASELLARIO_OVERDUE_AFTER.
	MetricNamespace      = "Casellario"
	MetricOverdueBatches = "OverdueBatches"
	// SMTPSecretName is the notify function's SMTP password: {"password":"..."} (or the bare password),
	// read as the PEC secrets are (shared/pecmail). Host, port, sender and user are in the deployment file.
	SMTPSecretName = deploy.SMTPSecretName
	// TableName is the DynamoDB table's name.
	TableName = "casellario"
	// ScheduleGroup: every schedule is in EventBridge Scheduler's default group.
	ScheduleGroup = "default"
	// OfficeDropRoleName is the role offices and their jobs assume (session tags tenant and office) to
	// drop lists into the uploads bucket.
	OfficeDropRoleName = "casellario-office-drop"
	DashboardName      = "casellario"
)

// ResumeCron: a catch-up dispatch every 10 minutes on weekdays finishes the batches a crash or an
// outage left open (it gathers no new people: the cut-off stays the dispatch cron's). SweepCron: the
// intake sweep every 5 minutes.
const (
	ResumeCron = "cron(0/10 * ? * MON-FRI *)"
	SweepCron  = "cron(0/5 * * * ? *)"
)

// ScheduleName is the name of a tenant's schedule of fn (dispatch or poll): "casellario-poll-c-g999"
// for c_g999. It is preflight's, which `casellario doctor` and `casellario schedules` look up by.
func ScheduleName(fn, tenant string) string { return preflight.ScheduleName(fn, tenant) }

// Routes of the HTTP API. The public ones carry no authorizer: the page itself and what the page reads
// before sign-in; everything else under /api/v1/ is behind the JWT authorizer.
var (
	PublicRoutes  = []string{"GET /", "GET /{asset}", "GET /api/v1/config", "GET /api/v1/openapi.json", "GET /api/v1/template.xlsx"}
	PrivateRoutes = []string{"ANY /api/v1/{proxy+}"}
)

var s = jsii.String

func num(v float64) *float64 { return jsii.Number(v) }

// Stack is the built stack with the handles the tests and the diagram use.
type Stack struct {
	awscdk.Stack
	Key       awskms.Key
	Functions map[string]awslambda.Function
	Skipped   []string // functions left out for want of a zip
}

// NewStack builds the whole system from cfg (validated first).
func NewStack(scope constructs.Construct, id string, props *awscdk.StackProps, cfg *Config) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := cfg.Deployment
	st := awscdk.NewStack(scope, s(id), props)
	out := &Stack{Stack: st, Functions: map[string]awslambda.Function{}}
	awscdk.Tags_Of(st).Add(s("project"), s("casellario-pec"), nil)

	// Data must survive updates and stack deletion, but a create that fails and rolls back must leave
	// nothing behind (fixed names would stop the retry): RetainExceptOnCreate, never plain Retain.
	keep := awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE
	if d.Local {
		keep = awscdk.RemovalPolicy_DESTROY
	}
	protect := !d.Local && !cfg.FirstCreate

	// One customer-managed key for the buckets, the table, the secrets and the alarm topic; rotated yearly.
	key := awskms.NewKey(st, s("DataKey"), &awskms.KeyProps{
		Alias:             s("alias/casellario"),
		Description:       s("Casellario PEC: personal data at rest (S3, DynamoDB, secrets)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     keep,
	})
	out.Key = key
	// CloudWatch alarms publish to the (encrypted) alarm topic: the service needs the key (a key policy's
	// resource is always "*", meaning this key).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        s("CloudWatchAlarmsToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(s("cloudwatch.amazonaws.com"), nil)},
		Actions:    &[]*string{s("kms:Decrypt"), s("kms:GenerateDataKey")},
		Resources:  &[]*string{s("*")},
	}), nil)

	// Buckets. Names are fixed (account and region make them unique) so that the intake's permission and
	// the IAM policies can name them without depending on the bucket resources (S3 validates the
	// notification's destination when the bucket is created: the bucket depends on the permission).
	uploadsName := awscdk.Fn_Sub(s("casellario-uploads-${AWS::AccountId}-${AWS::Region}"), nil)
	documentsName := awscdk.Fn_Sub(s("casellario-documents-${AWS::AccountId}-${AWS::Region}"), nil)
	uploadsArn := awscdk.Fn_Sub(s("arn:${AWS::Partition}:s3:::casellario-uploads-${AWS::AccountId}-${AWS::Region}"), nil)
	documentsArn := awscdk.Fn_Sub(s("arn:${AWS::Partition}:s3:::casellario-documents-${AWS::AccountId}-${AWS::Region}"), nil)
	bucket := func(id string, name *string, lifecycle []*awss3.LifecycleRule) awss3.Bucket {
		return awss3.NewBucket(st, s(id), &awss3.BucketProps{
			BucketName:        name,
			BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
			EnforceSSL:        jsii.Bool(true),
			MinimumTLSVersion: num(1.2),
			Encryption:        awss3.BucketEncryption_KMS,
			EncryptionKey:     key,
			BucketKeyEnabled:  jsii.Bool(true), // one KMS call per object and hour, not per request
			Versioned:         jsii.Bool(true),
			ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
			LifecycleRules:    &lifecycle,
			RemovalPolicy:     keep,
		})
	}
	days := func(n int) awscdk.Duration { return awscdk.Duration_Days(num(float64(n))) }
	uploads := bucket("UploadsBucket", uploadsName, []*awss3.LifecycleRule{{
		Id:                                  s("uploaded-lists"),
		Expiration:                          days(d.Retention.UploadsDays),
		NoncurrentVersionExpiration:         days(7),
		AbortIncompleteMultipartUploadAfter: days(1),
	}})
	documents := bucket("DocumentsBucket", documentsName, []*awss3.LifecycleRule{{
		// Requests, receipts, raw PEC messages and certificates: kept as long as the table keeps the
		// batches (shared/store's retention), then deleted; old versions go a month later.
		Id:                                  s("documents-retention"),
		Expiration:                          days(d.Retention.DocumentsDays),
		NoncurrentVersionExpiration:         days(30),
		AbortIncompleteMultipartUploadAfter: days(1),
	}, {
		// ZIPs of a list's or a request's certificates: made on demand, fetched at once through a
		// presigned URL, made again when asked again; nothing else reads them.
		Id:                          s("certificate-zips"),
		Prefix:                      s(s3docs.ZipPrefix),
		Expiration:                  days(1),
		NoncurrentVersionExpiration: days(1),
	}})

	// The table: the schema is shared/store.TableInput's, plus TTL, PITR, the CMK and deletion protection.
	table := newTable(st, key, protect, keep)

	// Queues: SQS-managed encryption (the messages are S3 events, schedule events and notices, which
	// never carry personal data), TLS only.
	queue := func(id, name string, props *awssqs.QueueProps) awssqs.Queue {
		if props == nil {
			props = &awssqs.QueueProps{}
		}
		props.QueueName = s(name)
		props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
		props.EnforceSSL = jsii.Bool(true)
		if props.RetentionPeriod == nil {
			props.RetentionPeriod = awscdk.Duration_Days(num(14))
		}
		props.RemovalPolicy = keep
		return awssqs.NewQueue(st, s(id), props)
	}
	dlqs := map[string]awssqs.Queue{}
	for _, n := range []string{"intake", "dispatch", "poll"} {
		dlqs[n] = queue(title(n)+"DLQ", "casellario-"+n+"-dlq", nil)
	}
	noticesDLQ := queue("NoticesDLQ", "casellario-notices-dlq", nil)
	notices := queue("Notices", "casellario-notices", &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(num(6 * 60)),
		RetentionPeriod:   awscdk.Duration_Days(num(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: noticesDLQ, MaxReceiveCount: num(5)},
	})

	// Secrets: one per credential the tenants file names (PEC mailboxes, external protocol registers),
	// and the SMTP password of the notices, created with a random placeholder (the operator puts the
	// real value: README). A rolled-back create deletes them at once (CloudFormation deletes secrets
	// without a recovery window), so a retry can create them again.
	pecSecrets, protoSecrets := secretNames(cfg.Tenants)
	secretARNs := map[string]*string{}
	for i, name := range append(append(append([]string{}, pecSecrets...), protoSecrets...), SMTPSecretName) {
		sec := awssecretsmanager.NewSecret(st, s(fmt.Sprintf("Secret%d", i)), &awssecretsmanager.SecretProps{
			SecretName:    s(name),
			Description:   s("Casellario PEC credential; set the real value with put-secret-value (infra/README.md)"),
			EncryptionKey: key,
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				// "placeholder": true makes the functions refuse it (shared/pecmail): logging in with a
				// random password would get the Comune's mailbox locked by its provider.
				SecretStringTemplate: s(`{"placeholder":true,"note":"replace with {\"password\":\"...\"}"}`),
				GenerateStringKey:    s("password"),
				ExcludePunctuation:   jsii.Bool(true),
			},
			RemovalPolicy: keep,
		})
		secretARNs[name] = sec.SecretArn()
	}

	// The configuration layer: the tenants file, the PEC trust store and the TLS roots, at /opt/casellario.
	// Old versions are kept on update: a function still running on one must not lose its files.
	layer := awslambda.NewLayerVersion(st, s("ConfigLayer"), &awslambda.LayerVersionProps{
		Code:                    awslambda.Code_FromAsset(s(cfg.ConfigDir), nil),
		CompatibleArchitectures: &[]awslambda.Architecture{awslambda.Architecture_ARM_64()},
		CompatibleRuntimes:      &[]awslambda.Runtime{awslambda.Runtime_PROVIDED_AL2023()},
		Description:             s("Casellario PEC configuration: tenants.json, pec-trust.pem"),
		RemovalPolicy:           keep,
	})

	refs := map[string]*string{
		"CASELLARIO_TABLE":            table.TableName(),
		"CASELLARIO_UPLOADS_BUCKET":   uploadsName,
		"CASELLARIO_DOCUMENTS_BUCKET": documentsName,
		"CASELLARIO_KMS_KEY_ID":       key.KeyArn(),
	}

	// Alarms go to the topic; CloudWatch may publish to it (EnforceSSL's topic policy would otherwise
	// hold only the TLS deny), only for this account's alarms.
	topic := awssns.NewTopic(st, s("AlarmTopic"), &awssns.TopicProps{
		TopicName: s("casellario-alarms"), MasterKey: key, EnforceSSL: jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        s("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(s("cloudwatch.amazonaws.com"), nil)},
		Actions:    &[]*string{s("sns:Publish")},
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]interface{}{"aws:SourceArn": awscdk.Fn_Sub(s("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:casellario-*"), nil)},
		},
	}))
	if d.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(s(d.AlarmEmail), nil))
	}
	var alarms []awscloudwatch.Alarm
	alarm := func(id, name, desc string, metric awscloudwatch.IMetric, props *awscloudwatch.AlarmProps) {
		props.AlarmName = s("casellario-" + name)
		props.AlarmDescription = s(desc)
		props.Metric = metric
		a := awscloudwatch.NewAlarm(st, s(id), props)
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
		alarms = append(alarms, a)
	}
	five := awscdk.Duration_Minutes(num(5))

	for _, spec := range Functions {
		zip, ok := cfg.Zips[spec.Name]
		if !ok {
			out.Skipped = append(out.Skipped, spec.Name)
			awscdk.Annotations_Of(st).AddWarningV2(s("casellario:missing-function-"+spec.Name),
				s(fmt.Sprintf("function %s left out: no build/%s.zip (functions/%s does not exist yet or `make build` was not run)", spec.Name, spec.Name, spec.Name)), nil)
			continue
		}
		fnEnv := map[string]*string{}
		for k, v := range d.Settings(spec.Name) {
			fnEnv[k] = s(v)
		}
		for k, v := range refs {
			if k == "CASELLARIO_TABLE" || spec.Name != "notify" { // notify uses no bucket
				fnEnv[k] = v
			}
		}
		if spec.Name != "notify" && spec.Name != "api" {
			fnEnv["CASELLARIO_NOTIFY_QUEUE_URL"] = notices.QueueUrl()
		}
		logs := awslogs.NewLogGroup(st, s(title(spec.Name)+"Logs"), &awslogs.LogGroupProps{
			LogGroupName:  s("/aws/lambda/casellario-" + spec.Name),
			Retention:     awslogs.RetentionDays_THREE_MONTHS,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY, // logs carry no personal data; they expire anyway
		})
		// One role per function, without the managed AWSLambdaBasicExecutionRole (logs on "*"): writing to
		// its own log group only, and the grants below.
		role := awsiam.NewRole(st, s(title(spec.Name)+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(s("lambda.amazonaws.com"), nil),
			Description: s("casellario-" + spec.Name),
		})
		role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   &[]*string{s("logs:CreateLogStream"), s("logs:PutLogEvents")},
			Resources: &[]*string{logs.LogGroupArn()},
		}))
		props := &awslambda.FunctionProps{
			FunctionName: s("casellario-" + spec.Name),
			Description:  s(spec.Why),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      s("bootstrap"),
			Code:         awslambda.Code_FromAsset(s(zip), nil),
			MemorySize:   num(spec.MemoryMB),
			Timeout:      awscdk.Duration_Seconds(num(spec.TimeoutSecs)),
			Role:         role,
			LogGroup:     logs,
			Layers:       &[]awslambda.ILayerVersion{layer},
			Environment:  &fnEnv,
		}
		switch spec.Name {
		case "intake":
			// S3 invokes asynchronously: two retries, then the event goes to the DLQ.
			props.DeadLetterQueue = dlqs["intake"]
			props.RetryAttempts = num(2)
			props.MaxEventAge = awscdk.Duration_Hours(num(6))
		case "dispatch":
			props.DeadLetterQueue = dlqs["dispatch"]
			props.RetryAttempts = num(2)
			props.MaxEventAge = awscdk.Duration_Hours(num(1))
		case "poll":
			props.DeadLetterQueue = dlqs["poll"]
			// The next tick (2 minutes) is the retry; a run waiting longer than 10 minutes is stale and
			// goes to the DLQ (a sign that polling falls behind).
			props.RetryAttempts = num(0)
			props.MaxEventAge = awscdk.Duration_Minutes(num(10))
			if n := d.Functions.PollReservedConcurrency; n > 0 {
				props.ReservedConcurrentExecutions = num(float64(n))
			}
		}
		fn := awslambda.NewFunction(st, s(title(spec.Name)+"Function"), props)
		out.Functions[spec.Name] = fn

		// Grants: explicit actions on named resources (CDK's grantRead/grantEncryptDecrypt use wildcard
		// actions such as s3:GetObject* and kms:GenerateDataKey*).
		allow := func(actions []string, resources ...*string) {
			a := make([]*string, len(actions))
			for i := range actions {
				a[i] = s(actions[i])
			}
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{Actions: &a, Resources: &resources}))
		}
		objects := func(arn *string, prefix string) *string {
			return awscdk.Fn_Join(s(""), &[]*string{arn, s("/" + prefix + "*")})
		}
		readObjects := []string{"s3:GetObject", "s3:GetObjectVersion"}
		tableRW := []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
			"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"}
		tableRO := []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"}
		tableResources := []*string{table.TableArn(),
			awscdk.Fn_Join(s(""), &[]*string{table.TableArn(), s("/index/" + store.IndexGSI1)}),
			awscdk.Fn_Join(s(""), &[]*string{table.TableArn(), s("/index/" + store.IndexGSI2)})}
		kmsUse := []string{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"}
		readSecrets := func(names []string) {
			var arns []*string
			for _, n := range names {
				arns = append(arns, secretARNs[n])
			}
			if len(arns) > 0 {
				allow([]string{"secretsmanager:GetSecretValue"}, arns...)
			}
		}
		switch spec.Name {
		case "intake":
			allow(tableRW, tableResources...)
			allow(readObjects, objects(uploadsArn, ""))
			allow([]string{"s3:ListBucket"}, uploadsArn) // a missing object answers 404, not 403
			allow([]string{"s3:PutObject"}, objects(documentsArn, ""))
			allow(kmsUse, key.KeyArn())
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "dispatch":
			allow(tableRW, tableResources...)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn, ""))
			allow(kmsUse, key.KeyArn())
			readSecrets(append(append([]string{}, pecSecrets...), protoSecrets...))
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "poll":
			allow(tableRW, tableResources...)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn, ""))
			allow(kmsUse, key.KeyArn())
			readSecrets(pecSecrets)
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "api":
			allow(tableRW, tableResources...)
			// Uploads, direct and by presigned PUT (lists too large for API Gateway's 10 MB): a presigned
			// URL acts with this role, so writes are limited to the tenants' own prefixes; the key grant
			// below covers the SSE-KMS upload.
			var prefixes []*string
			for _, t := range cfg.Tenants.Tenants {
				prefixes = append(prefixes, objects(uploadsArn, t.ID+"/"))
			}
			allow([]string{"s3:PutObject"}, prefixes...)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn, "")) // reports, certificates, triage re-handling
			allow(kmsUse, key.KeyArn())
		case "notify":
			allow(tableRO, tableResources...)
			allow([]string{"kms:Decrypt", "kms:DescribeKey"}, key.KeyArn())
			readSecrets([]string{SMTPSecretName})
			fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(notices, &awslambdaeventsources.SqsEventSourceProps{
				BatchSize: num(10), ReportBatchItemFailures: jsii.Bool(true),
			}))
		}

		alarm(title(spec.Name)+"ErrorsAlarm", spec.Name+"-errors", fmt.Sprintf("casellario-%s reported errors (see its log group; runbook: infra/README.md)", spec.Name),
			fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum")}),
			&awscloudwatch.AlarmProps{Threshold: num(1), EvaluationPeriods: num(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING})
	}

	// S3 → intake, configured on the bucket itself (no CDK notifications custom resource, whose role
	// needs s3:PutBucketNotification on "*"). By suffix: the page's uploads (<tenant>/<office>/<id>/list.csv)
	// and the offices' drops (<tenant>/<office>/<name>.csv) alike; S3 refuses overlapping suffix rules.
	if fn, ok := out.Functions["intake"]; ok {
		perm := awslambda.NewCfnPermission(st, s("UploadsInvokeIntake"), &awslambda.CfnPermissionProps{
			Action:        s("lambda:InvokeFunction"),
			FunctionName:  fn.FunctionArn(),
			Principal:     s("s3.amazonaws.com"),
			SourceAccount: awscdk.Aws_ACCOUNT_ID(),
			SourceArn:     uploadsArn,
		})
		cfn := uploads.Node().DefaultChild().(awss3.CfnBucket)
		var filters []interface{}
		for _, ext := range UploadExts {
			filters = append(filters, &awss3.CfnBucket_LambdaConfigurationProperty{
				Event:    s("s3:ObjectCreated:*"),
				Function: fn.FunctionArn(),
				Filter: &awss3.CfnBucket_NotificationFilterProperty{S3Key: &awss3.CfnBucket_S3KeyFilterProperty{
					Rules: &[]interface{}{&awss3.CfnBucket_FilterRuleProperty{Name: s("suffix"), Value: s("." + ext)}},
				}},
			})
		}
		cfn.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{LambdaConfigurations: &filters})
		cfn.Node().AddDependency(perm)
	}

	// The offices' drop role (ABAC): one role for every office; the session tags tenant and office pick
	// the only prefix it may write, so it does not grow with the tenants.
	dropRole := officeDropRole(st, uploadsArn, key)

	// Schedules: one per tenant and function, Europe/Rome, created disabled unless the tenant is listed
	// live in the deployment file. The input is shaped like an EventBridge event (the handlers take
	// events.EventBridgeEvent) and names the tenant in detail.tenant.
	rome := awscdk.TimeZone_EUROPE_ROME()
	scheduleNames := map[string]map[string]string{}
	// kind is the function, or "dispatch-resume" (a catch-up dispatch that only finishes open
	// batches, between two cut-offs); tenant "" is a run over every tenant.
	schedule := func(kind, tenant, expr string, enabled bool) {
		fnName, detail := kind, map[string]interface{}{}
		switch kind {
		case "dispatch-resume":
			fnName, detail["resume"] = "dispatch", true
		case "intake-sweep":
			fnName = "intake"
		}
		fn, ok := out.Functions[fnName]
		if !ok {
			return
		}
		if tenant != "" {
			detail["tenant"] = tenant
		}
		input := awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{
			"id":          awsscheduler.ContextAttribute_ExecutionId(),
			"time":        awsscheduler.ContextAttribute_ScheduledTime(),
			"source":      "casellario.scheduler",
			"detail-type": "Scheduled Event",
			"detail":      detail,
		})
		name, id, desc := ScheduleName(kind, tenant), title(kind)+"Schedule-"+tenant, fmt.Sprintf("%s for %s", kind, tenant)
		if tenant == "" {
			name, id, desc = "casellario-"+kind, title(kind)+"Schedule", kind+" for every Comune"
		} else {
			if scheduleNames[tenant] == nil {
				scheduleNames[tenant] = map[string]string{}
			}
			scheduleNames[tenant][kind] = name
		}
		awsscheduler.NewSchedule(st, s(id), &awsscheduler.ScheduleProps{
			ScheduleName: s(name),
			Description:  s(desc),
			Schedule:     awsscheduler.ScheduleExpression_Expression(s(expr), rome),
			Enabled:      jsii.Bool(enabled),
			Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
				Input:           input,
				DeadLetterQueue: dlqs[fnName],
				RetryAttempts:   num(2),
				MaxEventAge:     awscdk.Duration_Minutes(num(10)),
			}),
		})
	}
	for _, t := range cfg.Tenants.Tenants {
		schedule("dispatch", t.ID, d.DispatchCronOf(t.ID), d.IsLive(t.ID))
		schedule("dispatch-resume", t.ID, ResumeCron, d.IsLive(t.ID))
		schedule("poll", t.ID, d.Schedules.PollCron, d.IsLive(t.ID))
	}
	// Uploads a crashed intake left half-way are taken in again by the sweep (shared/intake.Sweep); it
	// touches no mailbox, so it runs for every Comune once one is live.
	schedule("intake-sweep", "", SweepCron, len(d.Schedules.Live) > 0)

	outputs := map[string]*string{"UploadsBucketName": uploadsName, "DocumentsBucketName": documentsName,
		"TableName": table.TableName(), "KeyArn": key.KeyArn(), "NoticesQueueUrl": notices.QueueUrl(),
		"AlarmTopicArn": topic.TopicArn(), "OfficeDropRoleArn": dropRole.RoleArn(), "ScheduleGroup": s(ScheduleGroup),
		"DashboardName": s(DashboardName), "ProtocolGroup": s(d.Auth.ProtocolGroup)}
	if len(scheduleNames) > 0 {
		b, _ := json.Marshal(scheduleNames) // sorted keys: a stable output
		outputs["ScheduleNames"] = s(string(b))
	}

	if fn, ok := out.Functions["api"]; ok && !d.Local {
		api := httpAPI(st, fn, d, outputs, protect)
		// The page PUTs a list too large for API Gateway straight to the bucket with a presigned URL:
		// the browser asks first (CORS preflight), from the page's own origin and nowhere else.
		uploads.AddCorsRule(&awss3.CorsRule{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT},
			AllowedOrigins: &[]*string{api.origin},
			AllowedHeaders: &[]*string{s("content-type"), s("x-amz-*")},
			ExposedHeaders: &[]*string{s("ETag")},
			MaxAge:         num(3600),
		})
		// It fetches a certificate or a ZIP by its presigned GET, so that the download keeps its
		// name and the clerk stays on the page; GET from the page's origin only.
		documents.AddCorsRule(&awss3.CorsRule{
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_GET},
			AllowedOrigins: &[]*string{api.origin},
			MaxAge:         num(3600),
		})
		if n, ok := out.Functions["notify"]; ok && d.Page.PublicURL == deploy.APIEndpoint {
			n.AddEnvironment(s("CASELLARIO_PUBLIC_URL"), api.pageURL, nil)
		}
	}

	// Alarms besides the functions' errors: DLQ depth, polling that stopped, overdue batches.
	for _, n := range []string{"intake", "dispatch", "poll"} {
		alarm(title(n)+"DLQAlarm", n+"-dlq", fmt.Sprintf("events in casellario-%s-dlq: runbook in infra/README.md", n),
			dlqs[n].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Maximum")}),
			&awscloudwatch.AlarmProps{Threshold: num(1), EvaluationPeriods: num(1),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING})
	}
	alarm("NoticesDLQAlarm", "notices-dlq", "notices that could not be e-mailed: casellario-notices-dlq",
		noticesDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Maximum")}),
		&awscloudwatch.AlarmProps{Threshold: num(1), EvaluationPeriods: num(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING})
	if fn, ok := out.Functions["poll"]; ok && len(d.Schedules.Live) > 0 {
		// Fewer than one invocation in 15 minutes (three 5-minute periods, no data counts as none); only
		// once a Comune is live, as nothing calls poll before.
		alarm("PollStoppedAlarm", "poll-stopped", "casellario-poll was not invoked for 15 minutes: PEC mailboxes are not read",
			fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum")}),
			&awscloudwatch.AlarmProps{Threshold: num(1), EvaluationPeriods: num(3), DatapointsToAlarm: num(3),
				ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING})
	}
	overdue := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: s(MetricNamespace), MetricName: s(MetricOverdueBatches),
		Period: awscdk.Duration_Hours(num(1)), Statistic: s("Maximum")})
	alarm("OverdueBatchesAlarm", "overdue-batches", "a delivered request has had no reply from the Procura for longer than "+d.Functions.OverdueAfter,
		overdue, &awscloudwatch.AlarmProps{Threshold: num(0), EvaluationPeriods: num(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING})

	dashboard(st, out.Functions, dlqs, noticesDLQ, overdue, alarms)

	for _, k := range sortedKeys(outputs) {
		awscdk.NewCfnOutput(st, s(k), &awscdk.CfnOutputProps{Value: outputs[k]})
	}
	return out, nil
}

// UploadExts are the list formats intake reads (shared/s3docs.UploadExts).
var UploadExts = []string{"csv", "xlsx", "json"}

// officeDropRole is the role an office (or its scheduled job) assumes with the session tags tenant and
// office to put lists at <tenant>/<office>/<name>.{csv,xlsx,json} of the uploads bucket: s3:PutObject
// only, and the key for SSE-KMS, only through S3. Which tags a caller may set is decided by the caller's
// own policy (infra/README.md): the role trusts the account and requires both tags.
func officeDropRole(st awscdk.Stack, uploadsArn *string, key awskms.Key) awsiam.Role {
	trust := awsiam.NewPrincipalWithConditions(awsiam.NewSessionTagsPrincipal(awsiam.NewAccountRootPrincipal()), &map[string]interface{}{
		"StringLike":                map[string]interface{}{"aws:RequestTag/tenant": "?*", "aws:RequestTag/office": "?*"},
		"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": []string{"tenant", "office"}},
	})
	role := awsiam.NewRole(st, s("OfficeDropRole"), &awsiam.RoleProps{
		RoleName:           s(OfficeDropRoleName),
		AssumedBy:          trust,
		Description:        s("Offices drop name lists into <tenant>/<office>/ of the uploads bucket (session tags tenant, office)"),
		MaxSessionDuration: awscdk.Duration_Hours(num(1)),
	})
	var objects []*string
	for _, ext := range UploadExts {
		objects = append(objects, awscdk.Fn_Join(s(""), &[]*string{uploadsArn, s("/${aws:PrincipalTag/tenant}/${aws:PrincipalTag/office}/*." + ext)}))
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: &[]*string{s("s3:PutObject")}, Resources: &objects,
	}))
	// SSE-KMS: S3 asks the key for a data key on the caller's behalf (and to decrypt it for the parts of
	// a multipart upload, which aws s3 cp uses above 8 MB).
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   &[]*string{s("kms:GenerateDataKey"), s("kms:Decrypt")},
		Resources: &[]*string{key.KeyArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"kms:ViaService": awscdk.Fn_Sub(s("s3.${AWS::Region}.amazonaws.com"), nil)},
		},
	}))
	return role
}

type builtAPI struct {
	pageURL *string
	origin  *string // the page's origin (scheme and host), for the uploads bucket's CORS rule
}

// httpAPI builds the HTTP API, its JWT authorizer and, without an external issuer, the Cognito user pool
// with its domain and the page's app client (authorization code with PKCE, no secret, openid email).
func httpAPI(st awscdk.Stack, fn awslambda.Function, d *deploy.Deployment, outputs map[string]*string, protect bool) builtAPI {
	api := awsapigatewayv2.NewHttpApi(st, s("Api"), &awsapigatewayv2.HttpApiProps{ApiName: s("casellario")})
	pageURL := s(d.Page.PublicURL)
	var origin *string
	if d.Page.PublicURL == deploy.APIEndpoint {
		pageURL = awscdk.Fn_Join(s(""), &[]*string{api.ApiEndpoint(), s("/")})
		origin = api.ApiEndpoint()
	} else if u, err := url.Parse(d.Page.PublicURL); err == nil {
		origin = s(u.Scheme + "://" + u.Host)
	}
	if cd := d.Page.CustomDomain; cd != nil {
		u, _ := url.Parse(d.Page.PublicURL)
		dn := awsapigatewayv2.NewDomainName(st, s("PageDomain"), &awsapigatewayv2.DomainNameProps{
			DomainName:  s(u.Hostname()),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(st, s("PageCertificate"), s(cd.CertificateARN)),
		})
		awsapigatewayv2.NewApiMapping(st, s("PageMapping"), &awsapigatewayv2.ApiMappingProps{Api: api, DomainName: dn})
		outputs["PageDomainTarget"] = dn.RegionalDomainName() // the CNAME of the page's host points here
	}
	fn.AddEnvironment(s("CASELLARIO_PUBLIC_URL"), pageURL, nil)

	var auth awsapigatewayv2.IHttpRouteAuthorizer
	if d.Auth.External() {
		aud := make([]*string, len(d.Auth.Audience))
		for i := range d.Auth.Audience {
			aud[i] = s(d.Auth.Audience[i])
		}
		auth = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(s("Jwt"), s(d.Auth.Issuer), &awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: &aud})
	} else {
		pool, client, domain := userPool(st, d, pageURL, protect)
		auth = awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(s("Cognito"), pool, &awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			UserPoolClients: &[]awscognito.IUserPoolClient{client},
		})
		base := domain.BaseUrl(nil)
		for k, v := range map[string]*string{
			"CASELLARIO_OIDC_ISSUER":        pool.UserPoolProviderUrl(),
			"CASELLARIO_OIDC_AUDIENCE":      client.UserPoolClientId(),
			"CASELLARIO_OIDC_CLIENT_ID":     client.UserPoolClientId(),
			"CASELLARIO_OIDC_AUTHORIZE_URL": awscdk.Fn_Join(s(""), &[]*string{base, s("/oauth2/authorize")}),
			"CASELLARIO_OIDC_TOKEN_URL":     awscdk.Fn_Join(s(""), &[]*string{base, s("/oauth2/token")}),
			"CASELLARIO_OIDC_LOGOUT_URL":    awscdk.Fn_Join(s(""), &[]*string{base, s("/logout")}),
		} {
			fn.AddEnvironment(s(k), v, nil)
		}
		outputs["UserPoolId"] = pool.UserPoolId()
		outputs["UserPoolClientId"] = client.UserPoolClientId()
		outputs["SignInDomain"] = base
	}

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(s("ApiIntegration"), fn, nil)
	route := func(key string, authorizer awsapigatewayv2.IHttpRouteAuthorizer) {
		method, path, _ := strings.Cut(key, " ")
		m := awsapigatewayv2.HttpMethod(method)
		opts := &awsapigatewayv2.AddRoutesOptions{Path: s(path), Methods: &[]awsapigatewayv2.HttpMethod{m}, Integration: integration}
		if authorizer != nil {
			opts.Authorizer = authorizer
		} else {
			// Explicitly none: a default authorizer added to the API later must not close the page.
			opts.Authorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
		}
		api.AddRoutes(opts)
	}
	for _, r := range PrivateRoutes {
		route(r, auth)
	}
	for _, r := range PublicRoutes {
		route(r, nil)
	}
	outputs["ApiUrl"] = api.ApiEndpoint()
	outputs["PageUrl"] = pageURL
	return builtAPI{pageURL: pageURL, origin: origin}
}

// userPool is the clerks' Cognito user pool. Its schema (custom:tenant, custom:office) must not change:
// a schema change replaces the pool and every user is lost (TestUserPoolSchemaFrozen).
func userPool(st awscdk.Stack, d *deploy.Deployment, pageURL *string, protect bool) (awscognito.UserPool, awscognito.UserPoolClient, awscognito.UserPoolDomain) {
	pool := awscognito.NewUserPool(st, s("Users"), &awscognito.UserPoolProps{
		UserPoolName:      s("casellario"),
		SelfSignUpEnabled: jsii.Bool(false), // clerks are invited by an administrator
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			"tenant": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MinLen: num(2), MaxLen: num(32), Mutable: jsii.Bool(true)}),
			"office": awscognito.NewStringAttribute(&awscognito.StringAttributeProps{MinLen: num(1), MaxLen: num(32), Mutable: jsii.Bool(true)}),
		},
		Mfa:                awscognito.Mfa_OPTIONAL,
		MfaSecondFactor:    &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		PasswordPolicy:     &awscognito.PasswordPolicy{MinLength: num(12)},
		AccountRecovery:    awscognito.AccountRecovery_EMAIL_ONLY,
		DeletionProtection: jsii.Bool(protect),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	domain := pool.AddDomain(s("SignIn"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: s(d.Auth.CognitoDomainPrefix)},
	})
	// The page signs in with the authorization code flow and PKCE (a public client: no secret), asks for
	// openid and email only, and comes back to its own address. Clerks may not change their tenant and
	// office: only email is writable by the user.
	client := pool.AddClient(s("Web"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false),
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true), ImplicitCodeGrant: jsii.Bool(false), ClientCredentials: jsii.Bool(false)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL()},
			CallbackUrls: &[]*string{pageURL},
			LogoutUrls:   &[]*string{pageURL},
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
			WithCustomAttributes(s("tenant"), s("office")),
		WriteAttributes: awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
	})
	// Sign-in goes through the hosted pages only: no direct password (SRP) sign-in, refresh tokens kept.
	client.Node().DefaultChild().(awscognito.CfnUserPoolClient).SetExplicitAuthFlows(&[]*string{s("ALLOW_REFRESH_TOKEN_AUTH")})
	// The protocol office's role; offices are the custom:office attribute, not groups (a group per
	// office would add a resource per office and hit CloudFormation's 500).
	awscognito.NewCfnUserPoolGroup(st, s("GroupProtocollo"), &awscognito.CfnUserPoolGroupProps{
		UserPoolId: pool.UserPoolId(), GroupName: s(d.Auth.ProtocolGroup), Description: s("protocol office: the whole Comune and the triage queue"),
	})
	return pool, client, domain
}

// dashboard is the IT staff's one page: alarm states, poll runs and errors, every function's errors and
// throttles, overdue requests and the dead-letter queues.
func dashboard(st awscdk.Stack, fns map[string]awslambda.Function, dlqs map[string]awssqs.Queue, noticesDLQ awssqs.Queue, overdue awscloudwatch.Metric, alarms []awscloudwatch.Alarm) {
	five := awscdk.Duration_Minutes(num(5))
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum")}
	var refs []interfacesawscloudwatch.IAlarmRef
	for _, a := range alarms {
		refs = append(refs, a)
	}
	rows := [][]awscloudwatch.IWidget{{
		awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: s("Alarms"), Alarms: &refs, Width: num(24), Height: num(4)}),
	}}
	var errs, throttles []awscloudwatch.IMetric
	for _, spec := range Functions {
		if fn, ok := fns[spec.Name]; ok {
			errs = append(errs, fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum"), Label: s(spec.Name)}))
			throttles = append(throttles, fn.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum"), Label: s(spec.Name)}))
		}
	}
	if poll, ok := fns["poll"]; ok {
		rows = append(rows, []awscloudwatch.IWidget{
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: s("poll: runs and errors"), Width: num(12),
				Left:  &[]awscloudwatch.IMetric{poll.MetricInvocations(sum), poll.MetricErrors(sum)},
				Right: &[]awscloudwatch.IMetric{poll.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Maximum")})}}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: s("Overdue requests (no reply from the Procura)"), Width: num(12),
				Left: &[]awscloudwatch.IMetric{overdue, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
					Expression: s(fmt.Sprintf(`SEARCH('{%s,Tenant} MetricName="%s"', 'Maximum', 3600)`, MetricNamespace, MetricOverdueBatches)),
					Label:      s("by Comune"), Period: awscdk.Duration_Hours(num(1)), UsingMetrics: &map[string]awscloudwatch.IMetric{}})}}),
		})
	}
	rows = append(rows, []awscloudwatch.IWidget{
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: s("Function errors"), Width: num(12), Left: &errs}),
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: s("Function throttles"), Width: num(12), Left: &throttles}),
	})
	var depths []awscloudwatch.IMetric
	for _, n := range []string{"intake", "dispatch", "poll"} {
		depths = append(depths, dlqs[n].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Maximum"), Label: s(n + "-dlq")}))
	}
	depths = append(depths, noticesDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Maximum"), Label: s("notices-dlq")}))
	rows = append(rows, []awscloudwatch.IWidget{
		awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: s("Dead-letter queues (messages waiting)"), Width: num(24), Left: &depths}),
	})
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	awscloudwatch.NewDashboard(st, s("Dashboard"), &awscloudwatch.DashboardProps{DashboardName: s(DashboardName), Widgets: &widgets})
}

// newTable declares shared/store.TableInput's schema (keys, indexes, billing) with TTL on store.AttrTTL.
func newTable(st awscdk.Stack, key awskms.Key, protect bool, removal awscdk.RemovalPolicy) awsdynamodb.Table {
	in := store.TableInput(TableName)
	attr := func(name string) *awsdynamodb.Attribute {
		for _, d := range in.AttributeDefinitions {
			if *d.AttributeName == name {
				t := awsdynamodb.AttributeType_STRING
				switch d.AttributeType {
				case "N":
					t = awsdynamodb.AttributeType_NUMBER
				case "B":
					t = awsdynamodb.AttributeType_BINARY
				}
				return &awsdynamodb.Attribute{Name: s(name), Type: t}
			}
		}
		panic("infra: store.TableInput has no attribute definition for " + name)
	}
	keys := func(ks []typesKey) (pk, sk *awsdynamodb.Attribute) {
		for _, k := range ks {
			if k.hash {
				pk = attr(k.name)
			} else {
				sk = attr(k.name)
			}
		}
		return
	}
	pk, sk := keys(keySchema(in.KeySchema))
	t := awsdynamodb.NewTable(st, s("Table"), &awsdynamodb.TableProps{
		TableName:           in.TableName,
		PartitionKey:        pk,
		SortKey:             sk,
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: s(store.AttrTTL),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey:      key,
		DeletionProtection: jsii.Bool(protect),
		RemovalPolicy:      removal,
	})
	for _, g := range in.GlobalSecondaryIndexes {
		gpk, gsk := keys(keySchema(g.KeySchema))
		if g.Projection == nil || g.Projection.ProjectionType != "ALL" {
			panic("infra: only ALL projections are mirrored")
		}
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName: g.IndexName, PartitionKey: gpk, SortKey: gsk, ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	return t
}

// secretNames returns the Secrets Manager names of the PEC mailboxes and of the external protocol
// registers, sorted, without duplicates.
func secretNames(c *tenants.Config) (pec, proto []string) {
	seen := map[string]bool{}
	for _, t := range c.Tenants {
		if n := t.PEC.Auth.Secret; n != "" && !seen[n] {
			seen[n] = true
			pec = append(pec, n)
		}
	}
	for _, t := range c.Tenants {
		if n := t.Protocol.Auth.Secret; t.Protocol.Kind == tenants.ProtocolHTTP && n != "" && !seen[n] {
			seen[n] = true
			proto = append(proto, n)
		}
	}
	sort.Strings(pec)
	sort.Strings(proto)
	return pec, proto
}

func title(n string) string { return strings.ToUpper(n[:1]) + n[1:] }
