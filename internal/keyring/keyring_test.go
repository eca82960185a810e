package keyring

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/keyring/keyringtest"
)

// startSecretService starts a real Secret Service (keyringtest) and points
// this process's session bus at it; it skips when the programs are
// missing, unless REQUIRE_TEST_TOOLS=1.
func startSecretService(t *testing.T) func(string) string {
	t.Helper()
	if p := keyringtest.Missing(); p != "" {
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatalf("REQUIRE_TEST_TOOLS=1: %s is not installed (apt-get install dbus-daemon gnome-keyring)", p)
		}
		t.Skipf("%s is not installed (apt-get install dbus-daemon gnome-keyring); set REQUIRE_TEST_TOOLS=1 to make this a failure", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := keyringtest.Start(ctx, shortTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	env := map[string]string{}
	for _, kv := range keyringtest.Env(d) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		t.Setenv(k, v) // go-keyring reads the process environment
	}
	return func(k string) string { return env[k] }
}

// shortTempDir is a temporary folder with a short path: a Unix socket's
// path has at most 107 bytes.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func TestSecretServiceStoresReadsAndDeletes(t *testing.T) {
	env := startSecretService(t)
	k := OS(env)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	acct := SecretAccount("alerts")
	if _, err := k.Get(ctx, acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before Set: %v, want ErrNotFound", err)
	}
	if err := k.Set(ctx, acct, "first~secret"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(ctx, acct, "second~secret"); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(ctx, TokenAccount("alerts"), `{"tokens":1}`); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, acct); err != nil || got != "second~secret" {
		t.Fatalf("Get = %q, %v; want the second secret", got, err)
	}
	if got, err := k.Get(ctx, TokenAccount("alerts")); err != nil || got != `{"tokens":1}` {
		t.Fatalf("token item = %q, %v", got, err)
	}
	if err := k.Delete(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, acct); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := k.Delete(ctx, acct); err != nil {
		t.Fatalf("Delete of a missing item: %v", err)
	}
}

func TestHeadlessIsUnavailableWithAHint(t *testing.T) {
	k := OS(func(string) string { return "" }) // no session bus
	_, err := k.Get(context.Background(), SecretAccount("alerts"))
	var ke *Error
	if !errors.As(err, &ke) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if failure.KindOf(err) != failure.Config || !strings.Contains(failure.HintOf(err), "client_secret_file") {
		t.Errorf("kind %v hint %q", failure.KindOf(err), failure.HintOf(err))
	}
	if err := k.Set(context.Background(), SecretAccount("alerts"), "x"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Set: %v", err)
	}
}

func TestBusWithoutSecretServiceIsUnavailable(t *testing.T) {
	dir := shortTempDir(t)
	// A bus address whose socket is not there.
	env := map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + dir + "/nobus"}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", env["DBUS_SESSION_BUS_ADDRESS"])
	_, err := OS(func(k string) string { return env[k] }).Get(context.Background(), SecretAccount("x"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}
