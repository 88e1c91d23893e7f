package procura_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/sim/procura"
)

func TestStartErrors(t *testing.T) {
	ok := procura.Config{Address: "p@x.test", Password: "x", IMAPAddr: "127.0.0.1:1", SMTPAddr: "127.0.0.1:1", TLS: &tls.Config{}}
	tests := []struct {
		name string
		mod  func(*procura.Config)
		want string
	}{
		{"no address", func(c *procura.Config) { c.Address = "" }, "required"},
		{"no TLS", func(c *procura.Config) { c.TLS = nil }, "required"},
		{"bad mode", func(c *procura.Config) { c.Mode = "x" }, "unknown mode"},
		{"bad regexp", func(c *procura.Config) { c.SubjectRegexp = "(" }, "regexp"},
		{"no groups", func(c *procura.Config) { c.SubjectRegexp = "(?P<numero>x)" }, "groups"},
	}
	for _, tc := range tests {
		c := ok
		tc.mod(&c)
		if _, err := procura.Start(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A Procura whose provider is unreachable keeps retrying and closes cleanly.
	p, err := procura.Start(ok)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Errors() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no failed round counted")
		}
		p.PollNow()
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
