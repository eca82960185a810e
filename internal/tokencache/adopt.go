package tokencache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// Adopt moves a token cache kept at old (where m365send kept sign-ins
// before they moved to the state folder, so that clearing ~/.cache does not
// sign people out) to path, with its credential sidecar, when path holds
// no cache yet and old does. It takes path's file lock, reads old as a
// private file (owned by this user, not readable by others, not a link)
// and writes it with the cache's atomic writer, then removes old. It
// reports whether it moved anything. ctx bounds the wait for the lock.
func Adopt(ctx context.Context, old, path string) (bool, error) {
	if old == "" || path == "" || old == path {
		return false, nil
	}
	if _, err := os.Lstat(old); err != nil {
		return false, nil // nothing to move (or nothing we may look at)
	}
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return false, nil // a cache is there already: it wins
	}
	s := New(path, 0, slog.New(slog.DiscardHandler))
	if err := s.Prepare(); err != nil {
		return false, err
	}
	l, err := s.Lock(ctx)
	if err != nil {
		return false, err
	}
	defer l.Unlock()
	if _, err := os.Lstat(path); err == nil {
		return false, nil // another process moved it meanwhile
	}
	oldStore := New(old, 0, slog.New(slog.DiscardHandler))
	for _, f := range [][2]string{{old, path}, {oldStore.BindingPath(), s.BindingPath()}} {
		data, err := ReadPrivate(f[0], MaxSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("move the token cache %s: %w", f[0], err)
		}
		if err := s.WriteFile(f[1], data, nil); err != nil {
			return false, fmt.Errorf("move the token cache to %s: %w", f[1], err)
		}
	}
	for _, f := range []string{old, oldStore.BindingPath(), oldStore.LockPath()} {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, fmt.Errorf("remove the old token cache %s: %w", f, err)
		}
	}
	return true, nil
}
