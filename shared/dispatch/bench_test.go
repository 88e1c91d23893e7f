package dispatch_test

import (
	"testing"
	"time"
)

// BenchmarkUploadToSent measures a list of 1,000 people from upload to PEC
// sent on the local stack (gofakes3, dynalite, the PEC simulator): upload,
// intake, dispatch (4 batches of at most 300: register, documents, SMTP).
// It reports the DynamoDB and S3 calls per 1,000 people.
func BenchmarkUploadToSent(b *testing.B) {
	s := newStack(b, stackOpt{offices: 1})
	data := listCSV(0, 1000)
	var ddb, s3 int64
	n := 0
	start := time.Now()
	for b.Loop() {
		s.env.Calls.Reset()
		u := s.upload(b, suap, data, nil)
		if u.Counts.Valid != 1000 {
			b.Fatalf("upload %+v", u)
		}
		sum := s.run(b)
		if sum.Sent != 4 || sum.People != 1000 {
			b.Fatalf("summary %s", summary(sum))
		}
		ddb += s.env.Calls.Total("DynamoDB")
		s3 += s.env.Calls.Total("S3")
		n++
	}
	b.ReportMetric(float64(ddb)/float64(n), "dynamodb-calls/1000people")
	b.ReportMetric(float64(s3)/float64(n), "s3-calls/1000people")
	b.ReportMetric(time.Since(start).Seconds()/float64(n), "s/1000people")
	b.Logf("last run: %s", s.env.Calls.String())
}
