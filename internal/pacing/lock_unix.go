//go:build unix

package pacing

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileLock is a held flock.
type fileLock struct{ f *os.File }

// openLock opens (creating, 0600) the lock file path, not following a
// symbolic link.
func openLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pacing: %w", err)
	}
	return f, nil
}

// lockFile takes the flock on path, waiting for it.
func lockFile(path string) (*fileLock, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pacing: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// tryLockFile takes the flock on path if it is free; nil when another
// holds it.
func tryLockFile(path string) (*fileLock, error) {
	f, err := openLock(path)
	if err != nil {
		return nil, err
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		f.Close()
		return nil, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pacing: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// unlock releases the lock.
func (l *fileLock) unlock() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
}
