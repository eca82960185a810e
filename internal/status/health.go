// Package status keeps and reports the health of each profile's sign-in:
// a small record beside the token cache (<cache file>.health.json) of when
// the person signed in, when the refresh token was last redeemed (and so
// rotated), when a send last succeeded and whether a sign-in is required;
// the report `m365send status` prints from it and from the token cache;
// and the on_login_required command, run once each time a sign-in is
// found to be required.
//
// The record holds times and a reason, never a token or secret. It is
// written atomically (a temporary file renamed over it), and each update
// reads, changes and writes it under an exclusive lock on
// <record>.lock (internal/filelock), so processes updating it at once
// (the relay and a send from cron) lose no update, and on_login_required
// runs once however many processes find the sign-in required.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/m365send/m365send/internal/filelock"
)

// Health is what is known about a profile's sign-in beyond its token
// cache.
type Health struct {
	// SignedIn is when a person last signed in (login).
	SignedIn time.Time `json:"signed_in,omitzero"`
	// Account is who signed in.
	Account string `json:"account,omitempty"`
	// RefreshUsed is when the refresh token was last redeemed: Entra ID
	// then rotated it, and its inactivity clock started again.
	RefreshUsed time.Time `json:"refresh_used,omitzero"`
	// LastSend is when a send through the profile last succeeded.
	LastSend time.Time `json:"last_send,omitzero"`
	// LoginRequired is set when a token request found that a person must
	// sign in again, and cleared by the next sign-in.
	LoginRequired *LoginRequired `json:"login_required,omitempty"`
}

// LoginRequired records a sign-in found to be required.
type LoginRequired struct {
	// At is when it was found.
	At time.Time `json:"at"`
	// Reason is the error's one line (no token, no secret).
	Reason string `json:"reason"`
	// Notified is set once on_login_required ran for it.
	Notified bool `json:"notified,omitempty"`
}

// HealthFile is the health record's path for a token cache file.
func HealthFile(cacheFile string) string {
	if cacheFile == "" {
		return ""
	}
	return cacheFile + ".health.json"
}

// ReadHealth reads the record at path; a missing one is the zero Health.
func ReadHealth(path string) (Health, error) {
	var h Health
	if path == "" {
		return h, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("read sign-in record: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return Health{}, fmt.Errorf("read sign-in record %s: %w", path, err)
	}
	return h, nil
}

// LockFile is the lock file of the health record at path.
func LockFile(path string) string { return path + ".lock" }

// update applies f to the record at path and writes it back (0600,
// atomically), holding the record's lock from the read to the rename. The
// folder must exist (the token cache's).
func update(path string, f func(*Health)) (Health, error) {
	lk, err := os.OpenFile(LockFile(path), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return Health{}, fmt.Errorf("lock sign-in record: %w", err)
	}
	defer lk.Close() // releases the lock
	if err := filelock.Lock(lk); err != nil {
		return Health{}, fmt.Errorf("lock sign-in record: %w", err)
	}
	h, err := ReadHealth(path)
	if err != nil {
		h = Health{} // a damaged record is replaced
	}
	f(&h)
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return h, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".health-*.tmp")
	if err != nil {
		return h, fmt.Errorf("write sign-in record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return h, fmt.Errorf("write sign-in record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return h, fmt.Errorf("write sign-in record: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return h, fmt.Errorf("write sign-in record: %w", err)
	}
	return h, nil
}
