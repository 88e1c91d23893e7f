package poll

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/tenants"
)

// A schedule names its Comune in the event's detail: an unknown one or a
// malformed detail is refused before any mailbox is touched.
func TestHandleScheduleDetail(t *testing.T) {
	h := &Handler{Tenants: tenants.Demo()}
	for _, detail := range []string{`{"tenant":"c_x000"}`, `{"tenant":`} {
		if err := h.HandleSchedule(context.Background(), events.EventBridgeEvent{ID: "e", Detail: []byte(detail)}); err == nil {
			t.Errorf("detail %s accepted", detail)
		}
	}
}
