package tokencache

import (
	"errors"
	"fmt"
	"github.com/m365send/m365send/internal/safefile"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxSize is the largest cache (or sidecar) file read. A profile's
// cache holds one account's tokens, a few kilobytes; a larger file is
// treated as corrupt.
const MaxSize = 4 << 20

// errTooLarge is a cache file over MaxSize.
var errTooLarge = fmt.Errorf("larger than %d bytes", MaxSize)

// ReadPrivate reads the regular file path (at most limit bytes) without
// following a symbolic link and without blocking on a FIFO: it opens with
// O_NOFOLLOW|O_NONBLOCK and checks the open file. A missing file is
// fs.ErrNotExist; a symbolic link is a *CacheError wrapping
// ErrInsecureCache; a file that is not regular is errNotRegular.
func ReadPrivate(path string, limit int64) ([]byte, error) {
	f, err := safefile.OpenNoFollow(path)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, SymlinkError(path)
		}
		return nil, err
	}
	defer f.Close()
	if err := checkOpen(f, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	return data, nil
}

// errNotRegular is a cache, sidecar or lock file that is not a regular
// file (a folder, a FIFO, a device).
var errNotRegular = errors.New("not a regular file")

// checkOpen refuses an open file that is not a regular file.
func checkOpen(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (%s)", path, errNotRegular, fi.Mode().Type())
	}
	return nil
}

// SymlinkError is the refusal of a cache, sidecar or lock file that is a
// symbolic link: another user may have planted it to make this process
// read or write where it points.
func SymlinkError(path string) error {
	return &CacheError{Path: path, Advice: "remove the link " + path + " (it is made again as a private file when needed)",
		Err: fmt.Errorf("%w: %s is a symbolic link", ErrInsecureCache, path)}
}

// OwnerOK reports whether fi belongs to uid or to root.
func OwnerOK(fi fs.FileInfo, uid int) (owner int, ok bool) {
	owner, known := safefile.Owner(fi)
	if !known {
		return -1, true
	}
	return owner, owner == uid || owner == 0
}

// WriteReason says in a few words why a cache file in dir could not be
// written, for the errors and warnings that report it.
func WriteReason(dir string, err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "the file system holding " + dir + " is full"
	case errors.Is(err, syscall.EDQUOT):
		return "the disk quota for " + dir + " is used up"
	case errors.Is(err, syscall.EROFS):
		return dir + " is on a read-only file system"
	case errors.Is(err, fs.ErrPermission):
		return dir + " cannot be written by this user"
	}
	return "it could not be written to " + dir
}

// cannotWrite reports whether err means the cache folder cannot be
// written at all (read-only, no permission), as opposed to a one-off
// failure.
func cannotWrite(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}
