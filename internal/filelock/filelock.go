// Package filelock takes exclusive advisory locks on open files, the same
// way on every platform m365send runs on: flock(2) on Unix (Linux, macOS,
// the BSDs) and LockFileEx on Windows.
//
// A lock belongs to the open file (the open file description on Unix, the
// handle on Windows), so two opens of one file in one process exclude each
// other as two processes do, and the system drops the lock when the file
// is closed or the process dies: a killed process never leaves one held.
//
// On Windows the locked byte lies far past the end of any real file,
// because Windows locks are mandatory: a lock on the data would stop the
// readers and writers of the file itself. Every user of this package
// locks the same byte, so they exclude each other.
package filelock

import "errors"

// ErrUnsupported is returned where the platform has no file locking
// (neither Unix nor Windows).
var ErrUnsupported = errors.New("filelock: file locking is not supported on this platform")
