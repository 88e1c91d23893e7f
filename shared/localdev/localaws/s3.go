package localaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"
)

// S3Options configure StartS3.
type S3Options struct {
	Dir  string // data directory: objects in Dir/s3.bolt; in memory when empty
	Port int    // 0: a free port
	// OnCreated, when set, is called (in its own goroutine, as S3 delivers event
	// notifications asynchronously) after every object created by a PUT or a
	// completed multipart upload: the local run's stand-in for S3 event notifications.
	OnCreated func(bucket, key, version string)
}

// S3 is a running gofakes3 server.
type S3 struct {
	URL     string // http://127.0.0.1:PORT; use path-style addressing
	srv     *http.Server
	backend gofakes3.Backend
	close   func() error
}

// StartS3 serves gofakes3 on 127.0.0.1: in memory, or on disk under opt.Dir.
func StartS3(opt S3Options) (*S3, error) {
	var backend gofakes3.Backend
	closeBackend := func() error { return nil }
	if opt.Dir == "" {
		backend = s3mem.New()
	} else {
		if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
			return nil, err
		}
		// s3bolt has no Close: keep the database to close it ourselves.
		db, err := bolt.Open(filepath.Join(opt.Dir, "s3.bolt"), 0o600, &bolt.Options{Timeout: 5 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("opening the local S3 data in %s (is another local run using it?): %w", opt.Dir, err)
		}
		backend = s3bolt.New(db)
		closeBackend = db.Close
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", opt.Port))
	if err != nil {
		closeBackend()
		return nil, err
	}
	faker := gofakes3.New(backend,
		gofakes3.WithLogger(gofakes3.DiscardLog()),
		gofakes3.WithTimeSkewLimit(0), // presigned URLs made with a test clock still work
		// The page PUTs large lists with a presigned URL, from its own origin: S3 in AWS
		// answers that preflight from the bucket's CORS rule (the page's origin only);
		// this loopback stand-in answers any origin and header.
		gofakes3.WithInsecureCORS(),
	)
	var handler http.Handler = faker.Server()
	if opt.OnCreated != nil {
		handler = notify(handler, opt.OnCreated)
	}
	s := &S3{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second},
		backend: backend, close: closeBackend}
	go s.srv.Serve(l)
	return s, nil
}

// CreateBucket creates a bucket directly in the backend; an existing one is fine.
func (s *S3) CreateBucket(name string) error {
	err := s.backend.CreateBucket(name)
	if gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
		return nil
	}
	return err
}

// Stop ends the server and closes the backend.
func (s *S3) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, s.close())
}

// statusWriter remembers the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// notify calls created after each successful object creation served by next.
func notify(next http.Handler, created func(bucket, key, version string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		isPut := r.Method == http.MethodPut && !q.Has("partNumber") && !q.Has("uploadId") && !q.Has("tagging") && !q.Has("acl")
		isComplete := r.Method == http.MethodPost && q.Has("uploadId")
		if !isPut && !isComplete {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		bucket, key, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if sw.status == http.StatusOK && ok && key != "" {
			if k, err := url.PathUnescape(key); err == nil {
				key = k
			}
			go created(bucket, key, sw.Header().Get("x-amz-version-id"))
		}
	})
}
