//go:build windows

package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// openLock opens a message's data for locking, sharing delete so that the
// message can still be moved or removed while it is held (as on Unix).
func openLock(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
			return nil, os.ErrNotExist
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// tryLock takes an exclusive lock on f without waiting; it reports false
// when someone else holds one (LockFileEx; dropped when the process
// dies). The locked byte lies far past the end of the file, because
// Windows locks are mandatory: a lock on the data would stop its readers.
func tryLock(f *os.File) (bool, error) {
	ol := windows.Overlapped{OffsetHigh: 0x40000000}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return false, err
}

// syncDir does nothing on Windows, where a directory cannot be opened
// for syncing; NTFS journals renames.
func syncDir(string) error { return nil }
