package lambdazip

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The same content gives the same bytes whatever the files' times and the time of day.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(in, bytes.Repeat([]byte("casellario "), 5000), 0o700); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	if err := Write(a, []Entry{{"bootstrap", in}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(in, time.Now().Add(time.Hour), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(in, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // another second on the clock
	if err := Write(b, []Entry{{"bootstrap", in}}); err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two zips of the same file differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(ab), int64(len(ab)))
	if err != nil {
		t.Fatal(err)
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || !f.Modified.Equal(Epoch) {
		t.Fatalf("entry %s mode %v modified %v", f.Name, f.Mode(), f.Modified)
	}
}
