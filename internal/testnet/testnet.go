// Package testnet holds network helpers for tests: things the standard
// library's httptest and net packages do not offer. It is for tests only.
package testnet

import (
	"fmt"
	"syscall"
	"testing"
)

// RefusingPort returns a loopback (127.0.0.1) port on which connections are
// refused for the rest of the test: a socket is bound to it but never
// listens, so no other test, in this package or another running at the same
// time, can take the port meanwhile, as it could after a listener closed.
func RefusingPort(tb testing.TB) int {
	tb.Helper()
	port, release, err := Refuse()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = release() })
	return port
}

// Refuse is RefusingPort for callers without a testing.TB (a testscript
// command): the port refuses connections until release is called.
func Refuse() (port int, release func() error, err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
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
