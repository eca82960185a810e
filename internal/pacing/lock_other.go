//go:build !unix

package pacing

// lockOpenFlags adds nothing where O_NOFOLLOW and O_NONBLOCK do not exist.
const lockOpenFlags = 0
