package pacing

import (
	"fmt"
	"os"

	"github.com/m365send/m365send/internal/filelock"
)

// fileLock is a held exclusive lock on a lock file (internal/filelock:
// flock on Unix, LockFileEx on Windows).
type fileLock struct{ f *os.File }

// openLock opens (creating, 0600) the lock file path, not following a
// symbolic link where the system can say so.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|lockOpenFlags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pacing: %w", err)
	}
	return f, nil
}

// lockFile takes the lock on path, waiting for it.
func lockFile(path string) (*fileLock, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	if err := filelock.Lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("pacing: %w", err)
	}
	return &fileLock{f: f}, nil
}

// tryLockFile takes the lock on path if it is free; nil when another
// holds it.
func tryLockFile(path string) (*fileLock, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	ok, err := filelock.TryLock(f)
	if err != nil || !ok {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("pacing: %w", err)
		}
		return nil, nil
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock.
func (l *fileLock) unlock() {
	_ = filelock.Unlock(l.f)
	_ = l.f.Close()
}
