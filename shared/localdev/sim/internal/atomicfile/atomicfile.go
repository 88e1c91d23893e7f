// Package atomicfile writes files so that a reader, or a process started after
// a kill, sees either the old content or the new one, never a mix. Files are
// not synced: the simulator's state survives the process, not a power cut.
package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts the names of the temporary files Write makes; a kill can
// leave them behind, and IsTemp recognises them.
const TempPrefix = ".tmp-"

// Write writes data to path through a temporary file in the same directory,
// given mode perm, then renamed over path.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// IsTemp reports whether name is a temporary file of Write.
func IsTemp(name string) bool { return strings.HasPrefix(name, TempPrefix) }
