//go:build windows

package filelock

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockedRange is the one byte every lock takes: far past the end of any
// real file (offset 2^62), so that the data stays readable and writable.
func lockedRange() *windows.Overlapped {
	return &windows.Overlapped{OffsetHigh: 0x40000000}
}

// TryLock takes an exclusive lock on f without waiting; ok is false when
// another handle holds one.
func TryLock(f *os.File) (ok bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, lockedRange())
	if err == nil {
		return true, nil
	}
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return false, fmt.Errorf("filelock: lock %s: %w", f.Name(), err)
}

// Lock takes an exclusive lock on f, waiting until it is free. To give up
// waiting, close f from another goroutine (then Lock may fail, or succeed
// on a file about to be closed).
func Lock(f *os.File) error {
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, lockedRange()); err != nil {
		return fmt.Errorf("filelock: lock %s: %w", f.Name(), err)
	}
	return nil
}

// Unlock releases the lock on f (closing f releases it too).
func Unlock(f *os.File) error {
	if err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, lockedRange()); err != nil {
		return fmt.Errorf("filelock: unlock %s: %w", f.Name(), err)
	}
	return nil
}
