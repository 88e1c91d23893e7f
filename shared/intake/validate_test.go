package intake_test

import (
	"strings"
	"testing"

	"github.com/casellario-pec/casellario/shared/validate"
)

func mustValidate(t *testing.T, body string) *validate.Report {
	t.Helper()
	rep, err := validate.File("list.csv", strings.NewReader(body), validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
