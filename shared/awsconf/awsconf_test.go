package awsconf_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/config"
	"github.com/casellario-pec/casellario/shared/localdev/localaws/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// envAWS is what a function's main passes: the environment read by config.
func envAWS(t *testing.T) config.AWS {
	t.Helper()
	c, err := config.Load(os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	return c.AWS
}

// The SDK reads AWS_ENDPOINT_URL_<SERVICE> itself: a client made from Load
// reaches dynalite, with dummy credentials and the default region, and its
// calls are counted.
func TestLoadEndpointFromEnv(t *testing.T) {
	env := testenv.New(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", env.DynamoURL)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	cfg, err := awsconf.Load(context.Background(), envAWS(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != awsconf.DefaultRegion {
		t.Fatalf("region %q", cfg.Region)
	}
	calls := awsconf.Count(&cfg)
	out, err := dynamodb.NewFromConfig(cfg).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(env.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Table.TableName) != env.Table {
		t.Fatal(out.Table.TableName)
	}
	if got := calls.Snapshot()["DynamoDB.DescribeTable"]; got != 1 || calls.Total("DynamoDB") != 1 || calls.Total("S3") != 0 {
		t.Fatalf("calls %s", calls)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	if cfg, _ := awsconf.Load(context.Background(), envAWS(t)); cfg.Region != "eu-west-1" {
		t.Fatal(cfg.Region)
	}
}
