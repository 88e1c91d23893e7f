package localaws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

func TestS3OnCreated(t *testing.T) {
	needs.Server(t, needs.Dynalite)
	got := make(chan string, 4)
	srv, err := StartS3(S3Options{OnCreated: func(bucket, key, version string) { got <- bucket + "/" + key }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := srv.CreateBucket("uploads"); err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{Region: "eu-south-1", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	ctx := context.Background()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("c_g999/SUAP/x/list.csv"),
		Body: strings.NewReader("a;b\n")}); err != nil {
		t.Fatal(err)
	}
	// Reads and failed writes are no events.
	_, _ = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("uploads"), Key: aws.String("c_g999/SUAP/x/list.csv")})
	_, _ = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("missing"), Key: aws.String("k"), Body: strings.NewReader("x")})
	select {
	case k := <-got:
		if k != "uploads/c_g999/SUAP/x/list.csv" {
			t.Fatalf("event for %q", k)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for a PUT")
	}
	select {
	case k := <-got:
		t.Fatalf("unexpected event %q", k)
	case <-time.After(200 * time.Millisecond):
	}
}
