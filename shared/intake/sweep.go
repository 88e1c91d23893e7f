package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/tenants"
)

// Sweep timing.
const (
	// SweepAfter: an upload still received this long after it was created
	// has lost its intake (a crash, an event never delivered); younger ones
	// are left to the intake that is probably running.
	SweepAfter = time.Minute
	// GiveUpAfter: an upload that no intake could finish within this long is
	// rejected, so that the office hears of it and uploads the list again.
	GiveUpAfter = 6 * time.Hour
	sweepLimit  = 100
	// AwaitPresigned: an upload recorded for a presigned PUT (no SHA-256
	// yet) is left alone while its URL may still be used, and a little more.
	AwaitPresigned = s3docs.MaxPresign + SweepAfter
)

// SweepSummary is what a sweep did.
type SweepSummary struct {
	Found    int `json:"found"`    // uploads still received and old enough
	Done     int `json:"done"`     // taken in now (queued or rejected)
	Busy     int `json:"busy"`     // another intake holds them: left to it
	GaveUp   int `json:"gave_up"`  // rejected after GiveUpAfter
	Failures int `json:"failures"` // failed again: the next sweep retries
}

// Sweep takes in again every upload left received (see SweepAfter): the
// intake that should have done it crashed, or its event was lost. Run it on
// a schedule (every few minutes in AWS, at each dispatch tick locally). It
// returns an error only when the store cannot be read.
func (h *Handler) Sweep(ctx context.Context, cause domain.Cause) (SweepSummary, error) {
	var sum SweepSummary
	var errs []error
	now := h.now()
	for i := range h.Tenants.Tenants {
		t := &h.Tenants.Tenants[i]
		ups, err := h.Store.ReceivedUploads(ctx, t.ID, sweepLimit)
		if err != nil {
			errs = append(errs, fmt.Errorf("intake sweep of %s: %w", t.ID, err))
			continue
		}
		for _, u := range ups {
			if now.Sub(u.CreatedAt) < SweepAfter {
				continue
			}
			if u.SHA256 == "" && now.Sub(u.CreatedAt) < AwaitPresigned {
				continue // a presigned upload whose PUT may still come
			}
			sum.Found++
			h.sweepOne(ctx, t, u, now, cause, &sum)
		}
	}
	if sum.Found > 0 {
		h.log().InfoContext(ctx, "sweep of uploads left received", "found", sum.Found, "done", sum.Done, "busy", sum.Busy,
			"gave_up", sum.GaveUp, "failures", sum.Failures)
	}
	return sum, errors.Join(errs...)
}

func (h *Handler) sweepOne(ctx context.Context, t *tenants.Tenant, u domain.Upload, now time.Time, cause domain.Cause, sum *SweepSummary) {
	log := h.log().With("tenant", t.ID, "upload", u.ID)
	if now.Sub(u.CreatedAt) > GiveUpAfter {
		_, err := h.reject(ctx, u, nil, domain.Because(domain.ReasonUploadNotProcessed,
			fmt.Sprintf("no intake finished within %s", GiveUpAfter)), errorReport("intake", domain.ReasonUploadNotProcessed.Italian()), cause)
		if err != nil {
			sum.Failures++
			log.WarnContext(ctx, "rejecting an upload no intake could finish", "err", err)
			return
		}
		sum.GaveUp++
		return
	}
	_, err := h.Process(ctx, u.Key, u.ObjectVersion, cause)
	switch domain.ErrorCode(err) {
	case domain.ENOTFOUND:
		// Recorded, and its file never stored (or removed): the office hears of it.
		if _, err := h.reject(ctx, u, nil, domain.Because(domain.ReasonUploadNotProcessed, "its file is not in the uploads bucket"),
			errorReport("intake", domain.ReasonUploadNotProcessed.Italian()), cause); err != nil {
			sum.Failures++
			log.WarnContext(ctx, "rejecting an upload whose file is missing", "err", err)
			return
		}
		sum.GaveUp++
	case "", domain.EINVALID, domain.ECONFLICT, domain.ETOOLARGE:
		sum.Done++ // taken in, or settled for good (Process logged why)
	case domain.EBUSY:
		sum.Busy++
	default:
		sum.Failures++
		log.WarnContext(ctx, "sweep could not take an upload in; retried at the next sweep", "err", err)
	}
}

// HandleEvent is the Lambda entry point: an S3 event (Records) is an upload;
// an EventBridge event (the sweep schedule) runs Sweep, on the Comune its
// detail names ({"tenant":"c_g999"}) or on all.
func (h *Handler) HandleEvent(ctx context.Context, raw json.RawMessage) error {
	var probe struct {
		Records    json.RawMessage `json:"Records"`
		DetailType string          `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return fmt.Errorf("intake: event: %w", err)
	}
	switch {
	case len(probe.Records) > 0:
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("intake: S3 event: %w", err)
		}
		return h.HandleS3(ctx, ev)
	case probe.DetailType != "":
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("intake: scheduled event: %w", err)
		}
		scoped, err := h.Tenants.ForSchedule(ev.Detail)
		if err != nil {
			return err
		}
		run := *h
		run.Tenants = scoped
		id := ev.ID
		if id == "" {
			id = domain.NewID()
		}
		_, err = run.Sweep(ctx, domain.CauseSchedule(id))
		return err
	}
	return errors.New("intake: neither an S3 event nor a scheduled event")
}
