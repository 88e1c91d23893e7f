package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	c, err := Load([]string{
		"CASELLARIO_TABLE=casellario", "CASELLARIO_RETENTION=8760h", "CASELLARIO_UPLOADS_BUCKET=up",
		"CASELLARIO_DOCUMENTS_BUCKET=docs", "CASELLARIO_SSE=AES256", "CASELLARIO_TENANTS=demo",
		"CASELLARIO_GRACE=7m", "CASELLARIO_POLL_DEADLINE=3m", "CASELLARIO_SMTP_PORT=2525", "CASELLARIO_SMTP_TLS=implicit",
		"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:4567", "PATH=/bin", "NOEQUALS",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		AWS:      AWS{Endpoint: true, S3PathStyle: true},
		Store:    Store{Table: "casellario", Retention: 8760 * time.Hour},
		Docs:     Docs{UploadsBucket: "up", DocumentsBucket: "docs", SSE: "AES256"},
		Tenants:  "demo",
		Dispatch: Dispatch{Grace: 7 * time.Minute},
		Poll:     Poll{Deadline: 3 * time.Minute},
		SMTP:     SMTP{Port: 2525, TLS: "implicit"},
	}
	if c != want {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Port != 587 || c.AWS.Endpoint || c.AWS.S3PathStyle || c.AWS.Credentials {
		t.Errorf("%+v", c)
	}
	c, _ = Load([]string{"AWS_ENDPOINT_URL=http://x", "CASELLARIO_S3_PATH_STYLE=false", "AWS_PROFILE=dev"})
	if !c.AWS.Endpoint || c.AWS.S3PathStyle || !c.AWS.Credentials {
		t.Errorf("explicit path style false: %+v", c.AWS)
	}
	c, _ = Load([]string{"AWS_ENDPOINT_URL="})
	if c.AWS.Endpoint {
		t.Error("an empty endpoint variable counts as set")
	}
}

// TestLoadErrors: every syntax error is reported, naming its variable, all at once.
func TestLoadErrors(t *testing.T) {
	tests := []struct{ kv, name string }{
		{"CASELLARIO_RETENTION=forever", "CASELLARIO_RETENTION"},
		{"CASELLARIO_GRACE=-1m", "CASELLARIO_GRACE"},
		{"CASELLARIO_POLL_DEADLINE=0s", "CASELLARIO_POLL_DEADLINE"},
		{"CASELLARIO_OVERDUE_AFTER=soon", "CASELLARIO_OVERDUE_AFTER"},
		{"CASELLARIO_SSE=rot13", "CASELLARIO_SSE"},
		{"CASELLARIO_SMTP_TLS=ssl", "CASELLARIO_SMTP_TLS"},
		{"CASELLARIO_SMTP_PORT=70000", "CASELLARIO_SMTP_PORT"},
		{"CASELLARIO_SMTP_PORT=smtp", "CASELLARIO_SMTP_PORT"},
		{"CASELLARIO_S3_PATH_STYLE=maybe", "CASELLARIO_S3_PATH_STYLE"},
	}
	var all []string
	names := map[string]bool{}
	for _, tt := range tests {
		all = append(all, tt.kv) // the last value of a name stands, as in an environment
		names[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Load([]string{tt.kv}); err == nil || !strings.Contains(err.Error(), tt.name+"=") {
				t.Fatalf("error %v, want one naming %s", err, tt.name)
			}
		})
	}
	_, err := Load(all)
	if err == nil || strings.Count(err.Error(), "\n")+1 != len(names) {
		t.Errorf("all at once: %v", err)
	}
}

func TestRequire(t *testing.T) {
	if err := Require("A", "x", "B", "y"); err != nil {
		t.Error(err)
	}
	err := Require("A", "", "B", "y", "C", "")
	if err == nil || err.Error() != "not set: A, C" {
		t.Errorf("%v", err)
	}
}
