// Package testnet holds network helpers for tests: things the standard
// library's httptest and net packages do not offer. It is for tests only.
package testnet

import "testing"

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
