//go:build unix

package pacing

import "syscall"

// lockOpenFlags open a lock file without following a symbolic link and
// without blocking on a FIFO.
const lockOpenFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK
