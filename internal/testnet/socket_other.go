//go:build unix && !linux

package testnet

import "syscall"

// socket opens an IPv4 stream socket and marks it close-on-exec (this
// platform has no SOCK_CLOEXEC).
func socket() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(fd)
	return fd, nil
}
