//go:build unix

package tokencache

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// lockOpenFlags open the lock file without following a symbolic link and
// without blocking on a FIFO.
const lockOpenFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// tryFlock takes the flock on fd without waiting; busy reports that
// another open file description holds it.
func tryFlock(fd int) (busy bool, err error) {
	err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		return true, nil
	}
	return false, err
}

// waitFlock takes the flock on fd, waiting until it is free.
func waitFlock(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			return err
		}
	}
}

// unlockFlock releases the flock on fd.
func unlockFlock(fd int) { _ = unix.Flock(fd, unix.LOCK_UN) }
