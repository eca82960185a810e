package token

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/tokencache"
)

// The token cache file, its hardening and the profile's file lock live in
// internal/tokencache; Source holds the lock around every MSAL call.

// DefaultLockTimeout is how long a token request waits for the profile's
// file lock held by another process (a sign-in in progress, a hung
// process) before it fails with a *LockError.
const DefaultLockTimeout = tokencache.DefaultLockTimeout

// LockError is a token request that gave up waiting for the profile's
// file lock. Its kind is failure.Temporary: the holder may finish.
type LockError = tokencache.LockError

// Forget removes every token cached in cacheFile (the file, copies of it
// set aside as corrupt, stale temp files, the credential sidecar
// <cacheFile>.cred), taking the profile's file lock;
// Source.Logout uses it. It needs no Source and so no credential: a
// profile whose secret cannot be resolved can still be logged out. ctx
// bounds the wait for the lock. Its cache errors are *CacheError.
func Forget(ctx context.Context, cacheFile string) error {
	return ForgetIn(ctx, cacheFile, nil, "")
}

// ForgetIn is Forget for a cache whose content is in a keyring (item
// account; see Config.CacheKeyring); a nil k is Forget.
func ForgetIn(ctx context.Context, cacheFile string, k keyring.Keyring, account string) error {
	if cacheFile == "" {
		return nil
	}
	st := tokencache.New(cacheFile, 0, slog.New(slog.DiscardHandler))
	st.Keyring, st.Account = k, account
	if err := st.Prepare(); err != nil {
		return err
	}
	l, err := st.Lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if err := st.Clear(ctx); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	return nil
}
