// Package tokencache keeps package token's MSAL token cache in one private
// file: the store MSAL reads and writes (atomic writes, corrupt copies set
// aside, expiring access tokens dropped), its hardening (a private folder
// and file, no symbolic links, regular files only) and the profile's
// cross-process file lock. Package token decides when to lock and what the
// credential sidecar holds; this package handles the files.
package tokencache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/m365send/m365send/internal/keyring"
)

// Store is MSAL's cache.ExportReplace backed by one file (or by memory when
// path is ""). It does no locking of its own: token.Source holds the file lock
// around every MSAL call, so each Replace reads what the last process
// wrote and each Export happens under the same lock.
//
// Replace also drops cached access tokens that have less than minValidity
// left (MSAL itself would hand them out until 5 minutes before expiry), and
// all of them while Force is set, so MSAL goes back to Entra ID.
//
// For client credentials the cache file has one companion, the credential
// sidecar <file>.cred (see internal/credbind): metadata saying which credential
// the cached access tokens were obtained with. It holds no secret and no
// token; it is written with the same atomic writer under the same lock,
// and removed with the cache.
type Store struct {
	// Path is the cache file, or "" to keep the cache in memory.
	Path string
	// MinValidity is how long a cached access token must still be valid
	// to be handed to MSAL.
	MinValidity time.Duration
	// Log receives the warnings (a cache set aside, one not saved).
	Log *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
	// UID is the user the cache folder must belong to (or root).
	UID int
	// LockTimeout and LockWarn bound and announce the wait for the
	// profile's file lock (see Lock).
	LockTimeout, LockWarn time.Duration
	// Keyring, when set, holds the cache's content (item Account) instead
	// of the file Path, which still names the lock file and the
	// credential sidecar (no secret in either). A keyring that fails is
	// an error, never a silent fall back to the file.
	Keyring keyring.Keyring
	// Account is the keyring item's account name.
	Account string

	// The fields below are guarded by the caller (token.Source's
	// semaphore).

	// Force drops every cached access token on Replace.
	Force bool
	// Mem is the cache when Path is "".
	Mem []byte
	// WriteErr is why the last Export could not save the cache (nil if
	// it could); the tokens MSAL got are then used from memory.
	WriteErr error
	// Unlocked is set when the folder cannot be written, so there is no
	// file lock: tokens are read from the cache but not saved.
	Unlocked bool
	// AfterTempWrite, if set, runs after the temp file is written and
	// synced but before it replaces the cache (tests kill the process here).
	AfterTempWrite func()
	// WriteFault, if set, makes every write fail with it (tests: a full
	// disk where no tmpfs can be mounted).
	WriteFault error
}

// New is the Store of the cache file path ("" for memory only).
func New(path string, minValidity time.Duration, log *slog.Logger) *Store {
	return &Store{
		Path:        path,
		MinValidity: minValidity,
		Log:         log,
		Now:         time.Now,
		UID:         os.Getuid(),
		LockTimeout: DefaultLockTimeout,
		LockWarn:    LockWarnAfter,
	}
}

var _ cache.ExportReplace = (*Store)(nil)

// LockPath is the lock file beside the cache file.
func (s *Store) LockPath() string { return s.Path + ".lock" }

// Prepare creates the cache folder (0700) if needed and refuses a folder
// with any group or other permission, or a cache file others can read. Its
// errors are *CacheError. Source runs it once per token request, before
// taking the file lock; read does not check the file again.
func (s *Store) Prepare() error {
	if s.Path == "" {
		return nil
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return &CacheError{Path: dir, Advice: WritableHint(dir),
			Err: fmt.Errorf("create token cache folder: %w", err)}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return &CacheError{Path: dir, Advice: WritableHint(dir),
			Err: fmt.Errorf("token cache folder: %w", err)}
	}
	if !fi.IsDir() {
		return &CacheError{Path: dir, Advice: WritableHint(dir),
			Err: fmt.Errorf("token cache folder %s is not a folder", dir)}
	}
	owner, ok := OwnerOK(fi, s.UID)
	if !ok {
		return &CacheError{Path: dir, Advice: "keep the token cache in a folder of your own, not in " + dir,
			Err: fmt.Errorf("%w: folder %s belongs to another user (uid %d)", ErrInsecureCache, dir, owner)}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		advice := "chmod 700 " + dir
		if fi.Mode()&fs.ModeSticky != 0 || owner != s.UID && owner >= 0 {
			// A shared folder such as /tmp: closing it would break it for
			// everyone else.
			advice = "keep the token cache in a private folder of your own, not in the shared folder " + dir
		}
		return &CacheError{Path: dir, Advice: advice,
			Err: fmt.Errorf("%w: folder %s is open to other users (mode %04o)", ErrInsecureCache, dir, fi.Mode().Perm())}
	}
	return s.checkFile()
}

// WritableHint is the hint for a cache folder that cannot be used.
func WritableHint(dir string) string {
	return "make " + dir + " a folder you can write to, or keep the token cache in another folder"
}

// checkFile refuses a cache file that others can read or write, and one
// that is a symbolic link (another user may have planted it).
func (s *Store) checkFile() error {
	fi, err := os.Lstat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &CacheError{Path: s.Path, Advice: WritableHint(filepath.Dir(s.Path)),
			Err: fmt.Errorf("token cache: %w", err)}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return SymlinkError(s.Path)
	}
	// Anything else that is not a regular file is set aside by read.
	if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
		return &CacheError{Path: s.Path, Advice: "chmod 600 " + s.Path,
			Err: fmt.Errorf("%w: %s can be read by others (mode %04o)", ErrInsecureCache, s.Path, fi.Mode().Perm())}
	}
	return nil
}

// Replace loads the stored cache into MSAL.
func (s *Store) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := s.read(ctx)
	if err != nil {
		return err
	}
	filtered, ferr := s.Filter(data)
	if ferr == nil {
		ferr = u.Unmarshal(filtered)
	}
	if ferr != nil {
		s.setAside(ferr)
		return u.Unmarshal([]byte("{}"))
	}
	return nil
}

// Export stores MSAL's cache.
func (s *Store) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("serialize token cache: %w", err)
	}
	if s.Path == "" {
		s.Mem = data
		return nil
	}
	if s.Unlocked {
		s.WriteErr = errors.New("the cache folder cannot be written")
		return nil
	}
	if err := s.write(ctx, data); err != nil {
		// MSAL would throw the new tokens away with this error: keep
		// them for this run instead, and say why they were not saved.
		s.WriteErr = err
		s.Log.Warn("could not save the token cache ("+WriteReason(filepath.Dir(s.Path), err)+"); the new token is used for this run only",
			"path", s.Path, "error", oneLine(err.Error()))
	}
	return nil
}

// read returns the stored bytes ("{}" when there are none). An unreadable
// file is set aside like a corrupt one. (Prepare has refused a file others
// can read.)
func (s *Store) read(ctx context.Context) ([]byte, error) {
	if s.Keyring != nil {
		v, err := s.Keyring.Get(ctx, s.Account)
		switch {
		case errors.Is(err, keyring.ErrNotFound):
			return []byte("{}"), nil
		case err != nil:
			return nil, err
		case strings.TrimSpace(v) == "":
			return []byte("{}"), nil
		}
		return []byte(v), nil
	}
	if s.Path == "" {
		if s.Mem == nil {
			return []byte("{}"), nil
		}
		return s.Mem, nil
	}
	data, err := ReadPrivate(s.Path, MaxSize)
	var ce *CacheError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []byte("{}"), nil
	case errors.As(err, &ce):
		return nil, err
	case err != nil:
		s.setAside(err)
		return []byte("{}"), nil
	case len(bytes.TrimSpace(data)) == 0:
		return []byte("{}"), nil
	}
	return data, nil
}

// Filter drops access tokens that are too close to expiry (or all of them
// when force is set). It fails only on data that is not a cache.
func (s *Store) Filter(data []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("token cache is not JSON: %w", err)
	}
	raw, ok := top["AccessToken"]
	if !ok {
		return data, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("token cache access tokens: %w", err)
	}
	limit := s.Now().Add(s.MinValidity).Unix()
	changed := false
	for k, entry := range all {
		var at struct {
			ExpiresOn json.RawMessage `json:"expires_on"`
		}
		if err := json.Unmarshal(entry, &at); err != nil {
			return nil, fmt.Errorf("token cache access tokens: %w", err)
		}
		exp, err := strconv.ParseInt(string(bytes.Trim(at.ExpiresOn, `"`)), 10, 64)
		if s.Force || err != nil || exp < limit {
			delete(all, k)
			changed = true
		}
	}
	if !changed {
		return data, nil
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, err
	}
	top["AccessToken"] = b
	return json.Marshal(top)
}

// setAside moves a corrupt or unreadable cache file out of the way so the
// flow can start over, and says so.
func (s *Store) setAside(cause error) {
	if s.Path == "" {
		s.Mem = nil
		s.Log.Warn("token cache was corrupt; starting over", "error", cause.Error())
		return
	}
	aside := s.Path + ".corrupt-" + s.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(s.Path, aside); err != nil {
		s.Log.Warn("token cache is corrupt and could not be moved aside; ignoring it",
			"path", s.Path, "error", err.Error())
		return
	}
	// Keep only this newest copy: each one may still hold refresh tokens.
	if err := s.removeAside(aside); err != nil {
		s.Log.Warn("could not remove an older set-aside token cache", "error", oneLine(err.Error()))
	}
	s.Log.Warn("token cache was corrupt or unreadable; moved it aside and starting over (sign in again if needed)",
		"path", s.Path, "moved_to", aside, "error", oneLine(cause.Error()))
}

// removeAside removes the cache's set-aside copies (<file>.corrupt-*)
// except keep, and its stale temp files. Both may hold tokens.
func (s *Store) removeAside(keep string) error {
	return removeGlob(keep, s.Path+".corrupt-*", s.Path+".tmp-*")
}

// removeGlob removes the files (and folders) matching patterns, except
// keep.
func removeGlob(keep string, patterns ...string) error {
	var errs []error
	for _, pattern := range patterns {
		files, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		for _, f := range files {
			if f == keep {
				continue
			}
			// An unreadable cache set aside may be a folder.
			if err := os.RemoveAll(f); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// write replaces the cache file atomically (see WriteFile), or the
// keyring's item.
func (s *Store) write(ctx context.Context, data []byte) error {
	if s.Keyring != nil {
		return s.Keyring.Set(ctx, s.Account, string(data))
	}
	return s.WriteFile(s.Path, data, s.AfterTempWrite)
}

// WriteFile replaces path (the cache file or its credential sidecar)
// atomically: a temp file in the same folder (0600), fsync, rename over
// the old file, fsync the folder. A crash at any point leaves either the
// old or the new file, never a mix. afterTempWrite, if set, runs before
// the rename.
func (s *Store) WriteFile(path string, data []byte, afterTempWrite func()) error {
	dir := filepath.Dir(path)
	// Temp files left by a writer that died before its rename are stale:
	// the lock we hold means nobody else is writing now.
	_ = removeGlob("", path+".tmp-*")
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	if s.WriteFault != nil {
		return fmt.Errorf("write token cache: %w", s.WriteFault)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	if afterTempWrite != nil {
		afterTempWrite()
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("write token cache: %w", err)
	}
	committed = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Clear forgets every cached token: the cache file (or the keyring's
// item), the copies of it set aside as corrupt, stale temp files and the
// credential sidecar.
func (s *Store) Clear(ctx context.Context) error {
	s.Mem = nil
	if s.Keyring != nil {
		if err := s.Keyring.Delete(ctx, s.Account); err != nil {
			return fmt.Errorf("remove token cache: %w", err)
		}
	}
	if s.Path == "" {
		return nil
	}
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token cache: %w", err)
	}
	if err := s.removeAside(""); err != nil {
		return fmt.Errorf("remove set-aside token cache: %w", err)
	}
	if err := os.Remove(s.BindingPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove token cache credential sidecar: %w", err)
	}
	if err := removeGlob("", s.BindingPath()+".tmp-*"); err != nil {
		return fmt.Errorf("remove token cache credential sidecar: %w", err)
	}
	return nil
}

// BindingPath is the credential sidecar beside the cache file (see package
// internal/credbind): Clear removes it with the cache.
func (s *Store) BindingPath() string { return s.Path + ".cred" }

// oneLine collapses s to one line of single spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
