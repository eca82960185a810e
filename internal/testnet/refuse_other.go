//go:build !unix

package testnet

import "errors"

// Refuse is RefusingPort for callers without a testing.TB (a testscript
// command). It is not supported on this platform.
func Refuse() (port int, release func() error, err error) {
	return 0, nil, errors.New("testnet: a refusing port is not supported on this platform")
}
