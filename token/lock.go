package token

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileLock is an advisory exclusive lock (flock) on a lock file beside the
// cache. flock locks belong to the open file description, so two opens in
// one process exclude each other as two processes do; the kernel drops the
// lock when the process dies, so a killed process never leaves it held.
type fileLock struct{ f *os.File }

// lockFile takes the lock on path, waiting until it is free or ctx is done.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &CacheError{Path: path, Advice: writableHint(filepath.Dir(path)),
			Err: fmt.Errorf("open token cache lock: %w", err)}
	}
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		return &fileLock{f}, nil
	} else if err != unix.EWOULDBLOCK {
		f.Close()
		return nil, fmt.Errorf("token: lock token cache: %w", err)
	}
	// Someone else holds it: wait in the background so ctx can end the wait.
	done := make(chan error, 1)
	go func() {
		for {
			err := unix.Flock(fd, unix.LOCK_EX)
			if err != unix.EINTR {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("token: lock token cache: %w", err)
		}
		return &fileLock{f}, nil
	case <-ctx.Done():
		go func() {
			<-done
			f.Close() // releases the lock if it was granted after all
		}()
		return nil, fmt.Errorf("token: wait for token cache lock: %w", ctx.Err())
	}
}

// unlock releases the lock.
func (l *fileLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}
