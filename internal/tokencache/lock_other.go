//go:build !unix

package tokencache

// lockOpenFlags adds nothing where O_NOFOLLOW and O_NONBLOCK do not exist.
const lockOpenFlags = 0
