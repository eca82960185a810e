//go:build unix

package testnet

import (
	"fmt"
	"syscall"
)

// Refuse is RefusingPort for callers without a testing.TB (a testscript
// command): the port refuses connections until release is called.
func Refuse() (port int, release func() error, err error) {
	fd, err := socket()
	if err != nil {
		return 0, nil, fmt.Errorf("testnet: socket: %w", err)
	}
	release = func() error { return syscall.Close(fd) }
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		_ = release()
		return 0, nil, fmt.Errorf("testnet: bind: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = release()
		return 0, nil, fmt.Errorf("testnet: getsockname: %w", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok || in4.Port == 0 {
		_ = release()
		return 0, nil, fmt.Errorf("testnet: bound address %#v", sa)
	}
	return in4.Port, release, nil
}
