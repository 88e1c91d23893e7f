package localaws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	)
	s := &S3{URL: "http://" + l.Addr().String(), srv: &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second},
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
