// Package keyring keeps m365send's secrets (client secrets, and the token
// cache of profiles that ask for it) in the operating system's keyring:
// the Secret Service over D-Bus on Linux (GNOME Keyring, KWallet,
// KeePassXC), the Keychain on macOS, the Credential Manager on Windows,
// through github.com/zalando/go-keyring (pure Go on all three, so the
// binary still builds with CGO_ENABLED=0). Items carry the service name
// Service and an account name per profile and purpose (SecretAccount,
// TokenAccount). See docs/configuration.md, "Where secrets live".
package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/m365send/m365send/internal/failure"
)

// Service is the service name of every item m365send keeps.
const Service = "m365send"

// SecretAccount is the account name of profile's client secret.
func SecretAccount(profile string) string { return "client-secret:" + profile }

// TokenAccount is the account name of profile's token cache.
func TokenAccount(profile string) string { return "token-cache:" + profile }

var (
	// ErrNotFound: the keyring holds no such item.
	ErrNotFound = errors.New("not in the OS keyring")
	// ErrUnavailable: there is no OS keyring to use (no Secret Service
	// on the session bus, no session bus at all, or an unsupported
	// platform).
	ErrUnavailable = errors.New("no OS keyring is available")
)

// Keyring stores secrets by account name under Service.
type Keyring interface {
	// Get returns the secret of account, or an error matching
	// ErrNotFound or ErrUnavailable.
	Get(ctx context.Context, account string) (string, error)
	// Set stores secret for account, replacing one stored before.
	Set(ctx context.Context, account, secret string) error
	// Delete removes account's secret; a missing one is not an error.
	Delete(ctx context.Context, account string) error
}

// Error is a keyring operation that failed; its kind is failure.Config
// (the keyring must be set up, unlocked or filled before m365send can
// work), and its hint says what to do.
type Error struct {
	// Op is "read", "store" or "delete".
	Op string
	// Account is the item's account name.
	Account string
	// Err matches ErrNotFound or ErrUnavailable, or is the keyring's own
	// error.
	Err error
	// Advice is the hint.
	Advice string
}

// Error says what failed, never with the secret.
func (e *Error) Error() string {
	return fmt.Sprintf("OS keyring: %s %s: %v", e.Op, e.Account, e.Err)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Kind is failure.Config.
func (e *Error) Kind() failure.Kind { return failure.Config }

// Hint returns Advice.
func (e *Error) Hint() string { return e.Advice }

// OS returns the operating system's keyring. env looks up the
// environment (os.Getenv in main): on Linux and the BSDs the keyring is
// used only when a D-Bus session bus is there ($DBUS_SESSION_BUS_ADDRESS
// or $XDG_RUNTIME_DIR/bus), so that nothing starts a bus on a headless
// machine.
func OS(env func(string) string) Keyring { return osKeyring{env: env} }

type osKeyring struct{ env func(string) string }

// Available says why k cannot be used, without asking it anything: an
// error matching ErrUnavailable for the OS keyring on a machine with no
// session bus (or an unsupported platform), else nil. Other keyrings are
// always available.
func Available(k Keyring) error {
	if o, ok := k.(osKeyring); ok {
		if err := o.available(); err != nil {
			return &Error{Op: "open", Account: Service, Err: err, Advice: headlessAdvice}
		}
	}
	return nil
}

// headlessAdvice says what to do without a keyring.
const headlessAdvice = "this machine has no usable OS keyring (on Linux: a Secret Service such as GNOME Keyring or KeePassXC on the D-Bus session bus); keep the secret in a file instead (client_secret_file, mode 0600) or use a certificate"

// available reports why the keyring cannot be used, or nil.
func (k osKeyring) available() error {
	switch runtime.GOOS {
	case "darwin", "windows":
		return nil
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
	default:
		return fmt.Errorf("%w: not supported on %s", ErrUnavailable, runtime.GOOS)
	}
	if k.env("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := k.env("XDG_RUNTIME_DIR"); dir != "" {
		if fi, err := os.Stat(filepath.Join(dir, "bus")); err == nil && fi.Mode().Type() == os.ModeSocket {
			return nil
		}
	}
	return fmt.Errorf("%w: no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)", ErrUnavailable)
}

// do runs f, which cannot be cancelled (go-keyring takes no context), in
// its own goroutine so that ctx bounds the wait: a keyring that waits for
// a person to unlock it must not hang a send.
func (k osKeyring) do(ctx context.Context, op, account string, f func() error) error {
	fail := func(err error, advice string) error {
		return &Error{Op: op, Account: account, Err: err, Advice: advice}
	}
	if err := k.available(); err != nil {
		return fail(err, headlessAdvice)
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		return fail(ctx.Err(), "the OS keyring did not answer: unlock it (it may be waiting for a password prompt) and try again")
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return fail(ErrNotFound, "")
	case errors.Is(err, gokeyring.ErrUnsupportedPlatform), isNoService(err):
		return fail(fmt.Errorf("%w: %v", ErrUnavailable, err), headlessAdvice)
	}
	return fail(err, "check that the OS keyring is unlocked (on Linux: the Secret Service's login or default collection)")
}

// isNoService reports whether err says no Secret Service is on the bus,
// or the bus cannot be reached.
func isNoService(err error) bool {
	s := err.Error()
	return strings.Contains(s, "org.freedesktop.DBus.Error.ServiceUnknown") ||
		strings.Contains(s, "org.freedesktop.DBus.Error.NoServer") ||
		strings.Contains(s, "dial unix") || strings.Contains(s, "connection refused")
}

func (k osKeyring) Get(ctx context.Context, account string) (string, error) {
	var secret string
	err := k.do(ctx, "read", account, func() error {
		var err error
		secret, err = gokeyring.Get(Service, account)
		return err
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

func (k osKeyring) Set(ctx context.Context, account, secret string) error {
	return k.do(ctx, "store", account, func() error { return gokeyring.Set(Service, account, secret) })
}

func (k osKeyring) Delete(ctx context.Context, account string) error {
	err := k.do(ctx, "delete", account, func() error { return gokeyring.Delete(Service, account) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
