//go:build !unix && !windows

package filelock

import "os"

// TryLock fails with ErrUnsupported.
func TryLock(*os.File) (bool, error) { return false, ErrUnsupported }

// Lock fails with ErrUnsupported.
func Lock(*os.File) error { return ErrUnsupported }

// Unlock fails with ErrUnsupported.
func Unlock(*os.File) error { return ErrUnsupported }
