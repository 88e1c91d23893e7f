package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// HTTP is an external protocol register reached over HTTPS. Since every Comune's
// register product speaks its own dialect, this adapter speaks one small documented
// JSON contract, and a thin gateway on the Comune's side translates:
//
//	POST {URL}
//	Authorization: Bearer {Token}
//	Idempotency-Key: {batch id}
//	{"tenant":"c_g999","aoo":"...","registry":"...","direction":"partenza","idempotency_key":"...",
//	 "subject":"...","recipient":"...","documents":[{"name":"...","sha256":"..."}]}
//
//	200 or 201 {"number":"0012345","date":"2026-11-25"}
//
// The same Idempotency-Key must give the same number. 4xx answers are permanent
// errors (the message of {"error":"..."} is kept), 429 and 5xx temporary.
type HTTP struct {
	URL    string
	Token  string
	Client *http.Client // nil: a client with a 20-second timeout
}

type httpRequest struct {
	Tenant         string     `json:"tenant"`
	AOO            string     `json:"aoo"`
	Registry       string     `json:"registry"`
	Direction      string     `json:"direction"`
	IdempotencyKey string     `json:"idempotency_key"`
	Subject        string     `json:"subject"`
	Recipient      string     `json:"recipient"`
	Documents      []Document `json:"documents"`
}

type httpResponse struct {
	Number string      `json:"number"`
	Date   domain.Date `json:"date"`
	Error  string      `json:"error"`
}

var defaultClient = &http.Client{Timeout: 20 * time.Second}

// Register asks the external register for a number.
func (h HTTP) Register(ctx context.Context, r Request) (domain.Protocol, error) {
	body, err := json.Marshal(httpRequest{r.Tenant, r.AOO, r.Registry, "partenza", r.BatchID, r.Subject, r.Recipient, r.Documents})
	if err != nil {
		return domain.Protocol{}, &Error{Message: "encode request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return domain.Protocol{}, &Error{Message: "bad register URL", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.BatchID)
	if h.Token != "" {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	client := h.Client
	if client == nil {
		client = defaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return domain.Protocol{}, &Error{Temporary: true, Message: "register unreachable", Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return domain.Protocol{}, &Error{Temporary: true, Message: "reading the register's answer", Err: err}
	}
	var out httpResponse
	jsonErr := json.Unmarshal(raw, &out)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return domain.Protocol{}, &Error{Temporary: true, Message: fmt.Sprintf("register answered %d %s", resp.StatusCode, out.Error)}
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated:
		return domain.Protocol{}, &Error{Message: fmt.Sprintf("register refused batch %s: %d %s", r.BatchID, resp.StatusCode, out.Error)}
	case jsonErr != nil:
		return domain.Protocol{}, &Error{Message: "register answered with malformed JSON", Err: jsonErr}
	}
	n, ok := Normalize(out.Number)
	if !ok || out.Date.IsZero() {
		return domain.Protocol{}, &Error{Message: fmt.Sprintf("register answered an invalid number %q or no date", out.Number)}
	}
	return domain.Protocol{Number: n, Date: out.Date}, nil
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
