//go:build unix

package safefile

import (
	"io/fs"
	"os"
	"syscall"
)

// OpenNoFollow opens path for reading without following a symlink in its
// last part and without blocking on a FIFO.
func OpenNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// Owner returns the user ID that owns the file fi describes.
func Owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
