package localaws_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/awsconf"
	"github.com/casellario-pec/casellario/shared/localdev/localaws"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
	"github.com/casellario-pec/casellario/shared/store"
)

func s3client(url string) *s3.Client {
	cfg := aws.Config{Region: "eu-south-1", Credentials: credentials.NewStaticCredentialsProvider("l", "l", "")}
	return awsconf.NewS3(cfg, true, func(o *s3.Options) { o.BaseEndpoint = aws.String(url); o.UsePathStyle = true })
}

// On disk, objects and tables survive a restart: the local run keeps its data.
func TestPersistence(t *testing.T) {
	needs.Server(t, needs.Dynalite)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s, err := localaws.StartS3(localaws.S3Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket("docs"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket("docs"); err != nil { // again: fine
		t.Fatal(err)
	}
	if _, err := s3client(s.URL).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("docs"), Key: aws.String("a/b.txt"), Body: bytes.NewReader([]byte("ciao"))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s, err = localaws.StartS3(localaws.S3Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	out, err := s3client(s.URL).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("docs"), Key: aws.String("a/b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out.Body)
	if string(b) != "ciao" {
		t.Fatal(string(b))
	}

	for round := 0; round < 2; round++ {
		d, err := localaws.StartDynalite(ctx, localaws.DynaliteOptions{Path: dir + "/dynamo"})
		if err != nil {
			t.Fatal(err)
		}
		db := dynamodb.NewFromConfig(aws.Config{Region: "eu-south-1", Credentials: credentials.NewStaticCredentialsProvider("l", "l", "")},
			func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(d.URL) })
		if err := store.CreateTable(ctx, db, "casellario"); err != nil { // exists in round 1
			d.Stop()
			t.Fatal(err)
		}
		tables, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
		d.Stop()
		if err != nil || len(tables.TableNames) != 1 {
			t.Fatal(tables, err)
		}
	}
}

func TestDynaliteMissing(t *testing.T) {
	t.Setenv("CASELLARIO_DYNALITE", "/nonexistent/dynalite")
	if _, err := localaws.FindDynalite(); err == nil {
		t.Fatal("found a missing dynalite")
	}
	t.Setenv("CASELLARIO_DYNALITE", "")
	t.Chdir(t.TempDir()) // no node_modules, no go.mod up to /
	_, err := localaws.FindDynalite()
	if !errors.Is(err, localaws.ErrNoDynalite) || !strings.Contains(err.Error(), "npm ci") {
		t.Fatal(err)
	}
}
