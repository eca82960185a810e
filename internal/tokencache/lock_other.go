//go:build !unix

package tokencache

import "errors"

// errLockUnsupported is the token cache lock on a platform without flock.
var errLockUnsupported = errors.New("file locking is not supported on this platform")

// lockOpenFlags adds nothing where O_NOFOLLOW and O_NONBLOCK do not exist.
const lockOpenFlags = 0

// tryFlock always fails: file locking is not supported here.
func tryFlock(int) (bool, error) { return false, errLockUnsupported }

// waitFlock always fails: file locking is not supported here.
func waitFlock(int) error { return errLockUnsupported }

// unlockFlock does nothing.
func unlockFlock(int) {}
