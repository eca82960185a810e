package tokencache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/filelock"
)

// DefaultLockTimeout is how long a token request waits for the profile's
// file lock held by another process (a sign-in in progress, a hung
// process) before it fails with a *LockError.
const DefaultLockTimeout = 60 * time.Second

// LockWarnAfter is how long a token request waits for the lock before it
// says (at Warn) which process holds it.
const LockWarnAfter = 2 * time.Second

// LockError is a token request that gave up waiting for the profile's
// file lock. Its kind is failure.Temporary: the holder may finish.
type LockError struct {
	// Path is the lock file.
	Path string
	// PID is the process that held the lock when the wait began, or 0
	// when unknown.
	PID int
	// Waited is how long the request waited.
	Waited time.Duration
}

// Error says whose lock was waited for, and how long.
func (e *LockError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("token cache %s is locked by %s; gave up after %s", e.Path, who, e.Waited.Round(time.Second))
}

// Kind is failure.Temporary.
func (e *LockError) Kind() failure.Kind { return failure.Temporary }

// Hint names the process to look at.
func (e *LockError) Hint() string {
	if e.PID > 0 {
		return fmt.Sprintf("process %d holds this profile's token cache lock (a sign-in waiting for a person, or a hung process): let it finish or end it, then try again", e.PID)
	}
	return "another process holds this profile's token cache lock (a sign-in waiting for a person, or a hung process): let it finish or end it, then try again"
}

// FileLock is an exclusive lock (internal/filelock: flock on Unix,
// LockFileEx on Windows) on a lock file beside the cache. The lock belongs
// to the open file, so two opens in one process exclude each other as two
// processes do; the system drops the lock when the process dies, so a
// killed process never leaves it held.
// The holder writes its PID into the file, so that a waiting process can
// say who it waits for. A nil *FileLock (or one with no file) holds
// nothing: the cache folder could not be written.
type FileLock struct{ f *os.File }

// Lock takes the profile's lock, waiting until it is free, ctx is
// done or s.LockTimeout has passed (then a *LockError); after s.LockWarn
// it logs which process holds it. The lock file is opened without
// following a symbolic link and must be a regular file. When the folder
// cannot be written (read-only, no permission) and no lock file exists,
// it returns an empty lock and sets s.Unlocked: tokens are read from the
// cache but not saved.
func (s *Store) Lock(ctx context.Context) (*FileLock, error) {
	path := s.LockPath()
	s.Unlocked = false
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|lockOpenFlags, 0o600)
	if err != nil && cannotWrite(err) {
		// A lock can still be taken on a file opened for reading.
		f, err = os.OpenFile(path, os.O_RDONLY|lockOpenFlags, 0)
		if err != nil && !errors.Is(err, syscall.ELOOP) {
			s.Unlocked = true
			s.Log.Warn("the token cache folder cannot be written ("+WriteReason(filepath.Dir(path), err)+"); new tokens are used for this run only and not saved",
				"path", s.Path)
			return &FileLock{}, nil
		}
	}
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, SymlinkError(path)
		}
		return nil, &CacheError{Path: path, Advice: WritableHint(filepath.Dir(path)),
			Err: fmt.Errorf("open token cache lock: %w", err)}
	}
	if err := checkOpen(f, path); err != nil {
		f.Close()
		if errors.Is(err, errNotRegular) {
			return nil, &CacheError{Path: path, Advice: "remove " + path + " (it is made again when needed)",
				Err: fmt.Errorf("%w: %w", ErrInsecureCache, err)}
		}
		return nil, err
	}
	l := &FileLock{f}
	if ok, err := filelock.TryLock(f); err == nil && ok {
		l.writePID()
		return l, nil
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("token: lock token cache: %w", err)
	}
	// Someone else holds it: wait in the background so ctx can end the wait.
	holder := l.holder()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- filelock.Lock(f)
	}()
	warn := time.NewTimer(s.LockWarn)
	defer warn.Stop()
	timeout := time.NewTimer(s.LockTimeout)
	defer timeout.Stop()
	giveUp := func() {
		go func() {
			<-done
			f.Close() // releases the lock if it was granted after all
		}()
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("token: lock token cache: %w", err)
			}
			l.writePID()
			return l, nil
		case <-warn.C:
			if pid := l.holder(); pid > 0 {
				holder = pid
			}
			s.Log.Warn("waiting for the token cache lock held by another process", "pid", holder, "path", path,
				"gives_up_in", (s.LockTimeout - time.Since(start)).Round(time.Second))
		case <-timeout.C:
			giveUp()
			if pid := l.holder(); pid > 0 {
				holder = pid
			}
			return nil, &LockError{Path: path, PID: holder, Waited: time.Since(start)}
		case <-ctx.Done():
			giveUp()
			return nil, fmt.Errorf("token: wait for token cache lock: %w", ctx.Err())
		}
	}
}

// writePID records this process as the holder (best effort: a lock file
// opened read-only keeps its old content).
func (l *FileLock) writePID() {
	b := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if _, err := l.f.WriteAt(b, 0); err == nil {
		_ = l.f.Truncate(int64(len(b)))
	}
}

// holder is the PID the lock file names, or 0.
func (l *FileLock) holder() int {
	buf := make([]byte, 32)
	n, _ := l.f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// Unlock releases the lock.
func (l *FileLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = filelock.Unlock(l.f)
	_ = l.f.Close()
	l.f = nil
}
