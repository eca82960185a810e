//go:build unix

package spool

import (
	"errors"
	"os"
	"syscall"
)

// openLock opens a message's data for locking.
func openLock(path string) (*os.File, error) { return os.Open(path) }

// tryLock takes an exclusive lock on f without waiting; it reports false
// when someone else holds one. Locks are flock(2) locks: per open file,
// so two opens in one process exclude each other too, and the kernel
// drops them when the process dies.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

// syncDir makes the entries of dir (creations, renames, removals)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
