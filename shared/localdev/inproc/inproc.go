// Package inproc serves HTTP requests with an http.Handler in the same
// process: a client whose transport never dials, for tests that must not
// listen on a socket (make test-unit) but still go through net/http's
// client and the handler as a server would run it.
package inproc

import (
	"net/http"
	"net/http/httptest"
	"strconv"
)

// Client returns a client whose requests h serves, whatever their host.
func Client(h http.Handler) *http.Client { return &http.Client{Transport: Transport{h}} }

// Transport is an http.RoundTripper that calls a handler.
type Transport struct{ Handler http.Handler }

// RoundTrip serves req with the handler and returns its answer. A request
// whose context ends while the handler works fails as a real one would.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := req.Clone(ctx)
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	// A server sees the length as a header (gofakes3 requires it on PUT);
	// a client keeps it in ContentLength.
	switch {
	case req.ContentLength > 0:
		in.Header.Set("Content-Length", strconv.FormatInt(req.ContentLength, 10))
	case req.ContentLength == 0 && (req.Method == http.MethodPut || req.Method == http.MethodPost || req.Method == http.MethodPatch):
		in.Header.Set("Content-Length", "0")
	}
	rec := httptest.NewRecorder()
	t.Handler.ServeHTTP(rec, in)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	if req.Method == http.MethodHead {
		res.Body = http.NoBody
	}
	return res, nil
}
