// Package lambdazip writes reproducible Lambda deployment zips (see cmd/lambdazip).
package lambdazip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Entry is one file of the zip: its name inside, and where it is read from.
type Entry struct{ Name, File string }

// Epoch is every entry's modification time.
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Write writes the zip to out (through a temporary file renamed into place).
func Write(out string, entries []Entry) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Name] {
			return fmt.Errorf("%s twice", e.Name)
		}
		seen[e.Name] = true
		b, err := os.ReadFile(e.File)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: Epoch}
		mode := os.FileMode(0o644)
		if e.Name == "bootstrap" {
			mode = 0o755
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
