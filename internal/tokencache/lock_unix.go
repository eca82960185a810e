//go:build unix

package tokencache

import "syscall"

// lockOpenFlags open the lock file without following a symbolic link and
// without blocking on a FIFO.
const lockOpenFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
