package localrun

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/casellario-pec/casellario/shared/domain"
)

// serveControl starts the local run's control endpoint on loopback: what in AWS is
// invoking a function by hand. POST /dispatch and POST /poll run that function now
// and answer its summary; GET /usage answers what the run used (report.Usage).
func (r *Run) serveControl() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /dispatch", r.runNow(func(ctx context.Context) (any, error) {
		return r.pipeline.dispatch(ctx, domain.CauseUser("cli"))
	}))
	mux.HandleFunc("POST /poll", r.runNow(func(ctx context.Context) (any, error) {
		return r.pipeline.pollNow(ctx, domain.CauseUser("cli"))
	}))
	mux.HandleFunc("GET /usage", r.serveUsage)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("control endpoint stopped", "err", err)
		}
	}()
	r.closers = append(r.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + l.Addr().String(), nil
}

// runNow answers a control request by running a function and writing its summary.
func (r *Run) runNow(fn func(context.Context) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Minute)
		defer cancel()
		sum, err := fn(ctx)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": err.Error(), "summary": sum})
			return
		}
		_ = json.NewEncoder(w).Encode(sum)
	}
}
