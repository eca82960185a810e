//go:build !unix

package pacing

// fileLock does nothing where there is no flock: pacing then holds only
// within each process (the sender's own).
type fileLock struct{}

func lockFile(string) (*fileLock, error)    { return &fileLock{}, nil }
func tryLockFile(string) (*fileLock, error) { return &fileLock{}, nil }
func (l *fileLock) unlock()                 {}
