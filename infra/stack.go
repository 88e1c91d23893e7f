package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
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
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/casellario-pec/casellario/shared/store"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// The custom metrics the functions publish through CloudWatch Embedded Metric Format (see README.md).
const (
	MetricNamespace      = "Casellario"     // = poll.MetricNamespace: the poll function writes it (Embedded Metric Format)
	MetricOverdueBatches = "OverdueBatches" // poll: delivered batches without a reply after CASELLARIO_OVERDUE_AFTER
	// SMTPSecretName is the notify function's SMTP account (JSON: host, port, username, password, from).
	SMTPSecretName = "casellario/smtp"
	// TableName is the DynamoDB table's name.
	TableName = "casellario"
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
	st := awscdk.NewStack(scope, s(id), props)
	out := &Stack{Stack: st, Functions: map[string]awslambda.Function{}}
	awscdk.Tags_Of(st).Add(s("project"), s("casellario-pec"), nil)

	retain := awscdk.RemovalPolicy_RETAIN
	if cfg.Local {
		retain = awscdk.RemovalPolicy_DESTROY
	}

	// One customer-managed key for the buckets, the table, the secrets and the alarm topic; rotated yearly.
	key := awskms.NewKey(st, s("DataKey"), &awskms.KeyProps{
		Alias:             s("alias/casellario"),
		Description:       s("Casellario PEC: personal data at rest (S3, DynamoDB, secrets)"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     retain,
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
			RemovalPolicy:     retain,
		})
	}
	days := func(n int) awscdk.Duration { return awscdk.Duration_Days(num(float64(n))) }
	uploads := bucket("UploadsBucket", uploadsName, []*awss3.LifecycleRule{{
		Id:                                  s("uploaded-lists"),
		Expiration:                          days(cfg.UploadRetentionDays),
		NoncurrentVersionExpiration:         days(7),
		AbortIncompleteMultipartUploadAfter: days(1),
		ExpiredObjectDeleteMarker:           nil,
	}})
	documents := bucket("DocumentsBucket", documentsName, []*awss3.LifecycleRule{{
		// Requests, receipts, raw PEC messages and certificates: kept as long as the table keeps the
		// batches (shared/store's retention), then deleted; old versions go a month later.
		Id:                                  s("documents-retention"),
		Expiration:                          days(cfg.RetentionDays),
		NoncurrentVersionExpiration:         days(30),
		AbortIncompleteMultipartUploadAfter: days(1),
	}})

	// The table: the schema is shared/store.TableInput's, plus TTL, PITR, the CMK and deletion protection.
	table := newTable(st, key, cfg, retain)

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
		props.RemovalPolicy = retain
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
	// and the SMTP account of the notices. Created with a random placeholder (the operator puts the real
	// value: README), or referenced by name when they exist already (importSecrets).
	pecSecrets, protoSecrets := secretNames(cfg.Tenants)
	secretsByName := map[string]awssecretsmanager.ISecret{}
	secretARNs := map[string]*string{}
	for i, name := range append(append([]string{}, pecSecrets...), append(protoSecrets, SMTPSecretName)...) {
		if _, done := secretsByName[name]; done {
			continue
		}
		id := fmt.Sprintf("Secret%d", i)
		var sec awssecretsmanager.ISecret
		if cfg.ImportSecrets {
			sec = awssecretsmanager.Secret_FromSecretNameV2(st, s(id), s(name))
			// A secret's ARN ends with six random characters: referenced by name, the suffix is the
			// only wildcard Secrets Manager leaves (AWS documents this form).
			secretARNs[name] = awscdk.Fn_Sub(s("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"+name+"-??????"), nil)
		} else {
			sec = awssecretsmanager.NewSecret(st, s(id), &awssecretsmanager.SecretProps{
				SecretName:    s(name),
				Description:   s("Casellario PEC credential; set the real value with put-secret-value (infra/README.md)"),
				EncryptionKey: key,
				GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
					SecretStringTemplate: s(`{"note":"placeholder: replace with the real password"}`),
					GenerateStringKey:    s("password"),
					ExcludePunctuation:   jsii.Bool(true),
				},
				RemovalPolicy: retain,
			})
			secretARNs[name] = sec.SecretArn()
		}
		secretsByName[name] = sec
	}

	// The configuration layer: the tenants file and the PEC trust store, at /opt/casellario.
	layer := awslambda.NewLayerVersion(st, s("ConfigLayer"), &awslambda.LayerVersionProps{
		Code:                    awslambda.Code_FromAsset(s(cfg.ConfigDir), nil),
		CompatibleArchitectures: &[]awslambda.Architecture{awslambda.Architecture_ARM_64()},
		CompatibleRuntimes:      &[]awslambda.Runtime{awslambda.Runtime_PROVIDED_AL2023()},
		Description:             s("Casellario PEC configuration: tenants.json, pec-trust.pem"),
		RemovalPolicy:           awscdk.RemovalPolicy_RETAIN, // older versions stay until their functions move on
	})

	env := map[string]*string{
		"CASELLARIO_TABLE":            table.TableName(),
		"CASELLARIO_RETENTION":        s(fmt.Sprintf("%dh", cfg.RetentionDays*24)),
		"CASELLARIO_UPLOADS_BUCKET":   uploadsName,
		"CASELLARIO_DOCUMENTS_BUCKET": documentsName,
		"CASELLARIO_SSE":              s("aws:kms"),
		"CASELLARIO_KMS_KEY_ID":       key.KeyArn(),
		"CASELLARIO_TENANTS":          s(LayerDir + "/tenants.json"),
		"CASELLARIO_NOTIFY_QUEUE_URL": notices.QueueUrl(),
	}
	topic := awssns.NewTopic(st, s("AlarmTopic"), &awssns.TopicProps{
		TopicName: s("casellario-alarms"), MasterKey: key, EnforceSSL: jsii.Bool(true),
	})
	if cfg.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(s(cfg.AlarmEmail), nil))
	}
	alarm := func(id, name, desc string, metric awscloudwatch.IMetric, props *awscloudwatch.AlarmProps) {
		props.AlarmName = s("casellario-" + name)
		props.AlarmDescription = s(desc)
		props.Metric = metric
		a := awscloudwatch.NewAlarm(st, s(id), props)
		a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
		a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
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
		for k, v := range env {
			fnEnv[k] = v
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
			// The next tick (2 minutes) is the retry; a run waiting longer than 10 minutes behind the
			// one-at-a-time poller is stale and goes to the DLQ (a sign that polling falls behind).
			props.RetryAttempts = num(0)
			props.MaxEventAge = awscdk.Duration_Minutes(num(10))
			props.ReservedConcurrentExecutions = num(1)
			fnEnv["CASELLARIO_PEC_TRUST"] = s(LayerDir + "/pec-trust.pem")
			fnEnv["CASELLARIO_POLL_DEADLINE"] = s("4m")
		case "api":
			// The function checks the token again (shared/api): same issuer and audience as the gateway.
			fnEnv["CASELLARIO_PEC_TRUST"] = s(LayerDir + "/pec-trust.pem")
			if cfg.LoginURL != "" {
				fnEnv["CASELLARIO_LOGIN_URL"] = s(cfg.LoginURL)
			}
		case "notify":
			fnEnv["CASELLARIO_SMTP_SECRET"] = s(SMTPSecretName)
			fnEnv["CASELLARIO_SMTP_HOST"] = s(cfg.SMTPHost)
			fnEnv["CASELLARIO_SMTP_PORT"] = s(fmt.Sprint(cfg.SMTPPort))
			fnEnv["CASELLARIO_SMTP_FROM"] = s(cfg.SMTPFrom)
			fnEnv["CASELLARIO_SMTP_TLS"] = s(cfg.SMTPTLS)
			if cfg.SMTPUser != "" {
				fnEnv["CASELLARIO_SMTP_USER"] = s(cfg.SMTPUser)
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
		objects := func(arn *string) *string { return awscdk.Fn_Join(s(""), &[]*string{arn, s("/*")}) }
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
			allow(readObjects, objects(uploadsArn))
			allow([]string{"s3:ListBucket"}, uploadsArn) // a missing object answers 404, not 403
			allow([]string{"s3:PutObject"}, objects(documentsArn))
			allow(kmsUse, key.KeyArn())
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "dispatch":
			allow(tableRW, tableResources...)
			allow(readObjects, objects(uploadsArn)) // the upload's metadata (manual protocol number)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn))
			allow(kmsUse, key.KeyArn())
			readSecrets(append(append([]string{}, pecSecrets...), protoSecrets...))
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "poll":
			allow(tableRW, tableResources...)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn))
			allow(kmsUse, key.KeyArn())
			readSecrets(pecSecrets)
			allow([]string{"sqs:SendMessage"}, notices.QueueArn())
		case "api":
			allow(tableRW, tableResources...)
			allow([]string{"s3:PutObject"}, objects(uploadsArn))              // uploads (direct and presigned)
			allow(append(readObjects, "s3:PutObject"), objects(documentsArn)) // reports, certificates, triage re-handling
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
	// needs s3:PutBucketNotification on "*").
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
		for _, ext := range []string{"csv", "xlsx", "json"} {
			filters = append(filters, &awss3.CfnBucket_LambdaConfigurationProperty{
				Event:    s("s3:ObjectCreated:*"),
				Function: fn.FunctionArn(),
				Filter: &awss3.CfnBucket_NotificationFilterProperty{S3Key: &awss3.CfnBucket_S3KeyFilterProperty{
					Rules: &[]interface{}{&awss3.CfnBucket_FilterRuleProperty{Name: s("suffix"), Value: s("/list." + ext)}},
				}},
			})
		}
		cfn.SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{LambdaConfigurations: &filters})
		cfn.Node().AddDependency(perm)
	}

	// Schedules: one per tenant and function, Europe/Rome. The input is shaped like an EventBridge event
	// (the handlers take events.EventBridgeEvent) and names the tenant in detail.tenant.
	rome := awscdk.TimeZone_EUROPE_ROME()
	schedule := func(fnName, tenant, expr string) {
		fn, ok := out.Functions[fnName]
		if !ok {
			return
		}
		input := awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{
			"id":          awsscheduler.ContextAttribute_ExecutionId(),
			"time":        awsscheduler.ContextAttribute_ScheduledTime(),
			"source":      "casellario.scheduler",
			"detail-type": "Scheduled Event",
			"detail":      map[string]interface{}{"tenant": tenant},
		})
		awsscheduler.NewSchedule(st, s(title(fnName)+"Schedule-"+tenant), &awsscheduler.ScheduleProps{
			ScheduleName: s("casellario-" + fnName + "-" + strings.ReplaceAll(tenant, "_", "-")),
			Description:  s(fmt.Sprintf("%s for %s", fnName, tenant)),
			Schedule:     awsscheduler.ScheduleExpression_Expression(s(expr), rome),
			Enabled:      jsii.Bool(cfg.SchedulesEnabled),
			Target: awsschedulertargets.NewLambdaInvoke(fn, &awsschedulertargets.ScheduleTargetBaseProps{
				Input:           input,
				DeadLetterQueue: dlqs[fnName],
				RetryAttempts:   num(2),
				MaxEventAge:     awscdk.Duration_Minutes(num(10)),
			}),
		})
	}
	for _, t := range cfg.Tenants.Tenants {
		cron := cfg.DispatchCron
		if c, ok := cfg.DispatchCronByTenant[t.ID]; ok {
			cron = c
		}
		schedule("dispatch", t.ID, cron)
		schedule("poll", t.ID, cfg.PollCron)
	}

	// The HTTP API with a JWT authorizer on /api/v1 (the page and its three files are public): a Cognito
	// user pool (custom attributes tenant and office, the group "protocollo" for the protocol office's
	// role, and a group per office "<tenant>:<office>"), or an external issuer (jwtIssuer, jwtAudience).
	if fn, ok := out.Functions["api"]; ok && !cfg.Local {
		var auth awsapigatewayv2.IHttpRouteAuthorizer
		issuer, audience := s(cfg.JWTIssuer), s(strings.Join(cfg.JWTAudience, ","))
		if cfg.JWTIssuer != "" {
			aud := make([]*string, len(cfg.JWTAudience))
			for i := range cfg.JWTAudience {
				aud[i] = s(cfg.JWTAudience[i])
			}
			auth = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(s("Jwt"), s(cfg.JWTIssuer), &awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: &aud})
		} else {
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
				DeletionProtection: jsii.Bool(true),
				RemovalPolicy:      retain,
			})
			// Clerks may not change their own tenant and office: only email is writable by the user.
			client := pool.AddClient(s("Web"), &awscognito.UserPoolClientOptions{
				AuthFlows:       &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
				GenerateSecret:  jsii.Bool(false),
				WriteAttributes: awscognito.NewClientAttributes().WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
			})
			awscognito.NewCfnUserPoolGroup(st, s("GroupProtocollo"), &awscognito.CfnUserPoolGroupProps{
				UserPoolId: pool.UserPoolId(), GroupName: s("protocollo"), Description: s("protocol office: the whole Comune and the triage queue"),
			})
			for _, t := range cfg.Tenants.Tenants {
				for _, o := range t.Offices {
					awscognito.NewCfnUserPoolGroup(st, s("Group-"+t.ID+"-"+o.Code), &awscognito.CfnUserPoolGroupProps{
						UserPoolId:  pool.UserPoolId(),
						GroupName:   s(t.ID + ":" + o.Code),
						Description: s(truncate(t.Name+" - "+o.Name, 2048)),
					})
				}
			}
			auth = awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(s("Cognito"), pool, &awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
				UserPoolClients: &[]awscognito.IUserPoolClient{client},
			})
			issuer, audience = pool.UserPoolProviderUrl(), client.UserPoolClientId()
			awscdk.NewCfnOutput(st, s("UserPoolId"), &awscdk.CfnOutputProps{Value: pool.UserPoolId()})
			awscdk.NewCfnOutput(st, s("UserPoolClientId"), &awscdk.CfnOutputProps{Value: client.UserPoolClientId()})
		}
		fn.AddEnvironment(s("CASELLARIO_OIDC_ISSUER"), issuer, nil)
		fn.AddEnvironment(s("CASELLARIO_OIDC_AUDIENCE"), audience, nil)
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(s("ApiIntegration"), fn, nil)
		api := awsapigatewayv2.NewHttpApi(st, s("Api"), &awsapigatewayv2.HttpApiProps{ApiName: s("casellario")})
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: s("/api/v1/{proxy+}"), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
			Integration: integration, Authorizer: auth,
		})
		for _, p := range []string{"/", "/app.js", "/style.css", "/favicon.svg"} {
			api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path: s(p), Methods: &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Integration: integration,
			})
		}
		awscdk.NewCfnOutput(st, s("ApiUrl"), &awscdk.CfnOutputProps{Value: api.ApiEndpoint()})
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
	if fn, ok := out.Functions["poll"]; ok && cfg.SchedulesEnabled {
		// Fewer than one invocation in 15 minutes (three 5-minute periods, no data counts as none).
		alarm("PollStoppedAlarm", "poll-stopped", "casellario-poll was not invoked for 15 minutes: PEC mailboxes are not read",
			fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: five, Statistic: s("Sum")}),
			&awscloudwatch.AlarmProps{Threshold: num(1), EvaluationPeriods: num(3), DatapointsToAlarm: num(3),
				ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
				TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING})
	}
	alarm("OverdueBatchesAlarm", "overdue-batches", "a delivered request has had no reply from the Procura for longer than CASELLARIO_OVERDUE_AFTER",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: s(MetricNamespace), MetricName: s(MetricOverdueBatches),
			Period: awscdk.Duration_Hours(num(1)), Statistic: s("Maximum")}),
		&awscloudwatch.AlarmProps{Threshold: num(0), EvaluationPeriods: num(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING})

	for k, v := range map[string]*string{"UploadsBucketName": uploadsName, "DocumentsBucketName": documentsName,
		"TableName": table.TableName(), "KeyArn": key.KeyArn(), "NoticesQueueUrl": notices.QueueUrl(), "AlarmTopicArn": topic.TopicArn()} {
		awscdk.NewCfnOutput(st, s(k), &awscdk.CfnOutputProps{Value: v})
	}
	_ = documents
	return out, nil
}

// newTable declares shared/store.TableInput's schema (keys, indexes, billing) with TTL on store.AttrTTL.
func newTable(st awscdk.Stack, key awskms.Key, cfg *Config, removal awscdk.RemovalPolicy) awsdynamodb.Table {
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
		DeletionProtection: jsii.Bool(!cfg.Local),
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

func truncate(v string, n int) string {
	if len(v) > n {
		return v[:n]
	}
	return v
}
