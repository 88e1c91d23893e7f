package poll

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/notice"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// checkOverdue alerts once about each delivered batch without a reply after
// OverdueAfter, and files an event so that the alert is not repeated. It returns
// the batches alerted now and all those overdue (alerted before or not), the
// figure of the OverdueBatches metric.
func (h *Handler) checkOverdue(ctx context.Context, t *tenants.Tenant, cause domain.Cause) (n, overdue int, err error) {
	bs, err := h.Store.ListBatches(ctx, t.ID, "", []domain.BatchState{domain.BatchDelivered}, 0)
	if err != nil {
		return 0, 0, err
	}
	after := h.overdueAfter()
	now := h.now()
	for _, b := range bs {
		if now.Sub(b.UpdatedAt) < after {
			continue
		}
		overdue++
		evs, err := h.Store.Events(ctx, t.ID, b.ID)
		if err != nil {
			return n, overdue, err
		}
		told := false
		for _, e := range evs {
			if strings.HasPrefix(e.Detail, "overdue:") {
				told = true
			}
		}
		if told {
			continue
		}
		days := int(after.Hours() / 24)
		detail := fmt.Sprintf("overdue: no reply from the Procura %d days after delivery", days)
		if h.Notify != nil {
			if err := h.Notify.Publish(ctx, notice.Event{Kind: notice.Overdue, Tenant: t.ID, Office: b.Office, Batch: b.ID, Days: days}); err != nil {
				h.log().WarnContext(ctx, "overdue notice not delivered: retried next run", "tenant", t.ID, "batch", b.ID, "err", err)
				continue
			}
		}
		if err := h.Store.AppendEvent(ctx, domain.Event{Tenant: t.ID, Subject: b.ID, At: b.UpdatedAt.Add(after), State: string(b.State),
			Note: domain.NoteOverdue, Detail: detail, Cause: cause}); err != nil {
			return n, overdue, err
		}
		h.log().WarnContext(ctx, "batch overdue", "tenant", t.ID, "batch", b.ID)
		n++
	}
	return n, overdue, nil
}

// emitOverdue writes the OverdueBatches metric of one tenant in CloudWatch
// Embedded Metric Format (one JSON line; Lambda ships stdout to CloudWatch Logs,
// which extracts the metric): the empty dimension set feeds the alarm, Tenant
// the per-Comune graph.
func (h *Handler) emitOverdue(ctx context.Context, tenant string, overdue int) {
	if h.Metrics == nil {
		return
	}
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": h.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{}, {"Tenant"}},
				"Metrics":    []any{map[string]string{"Name": MetricOverdueBatches, "Unit": "Count"}},
			}},
		},
		"Tenant":             tenant,
		MetricOverdueBatches: overdue,
	}
	b, err := json.Marshal(line)
	if err == nil {
		_, err = fmt.Fprintf(h.Metrics, "%s\n", b)
	}
	if err != nil {
		h.log().WarnContext(ctx, "overdue metric not written", "tenant", tenant, "err", err)
	}
}
