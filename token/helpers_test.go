package token

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/tokencache"

	"github.com/m365send/m365send/token/entratest"
)

const (
	testClientID = "11111111-2222-3333-4444-555555555555"
	testSecret   = "s3cret-value-never-logged"
	testMailbox  = "alerts@contoso.com"
	testPublicID = "99999999-8888-7777-6666-555555555555"
	testUser     = "adele@contoso.com"
)

// newAuthority starts an entratest authority with one confidential app
// (testClientID/testSecret) and one public client.
func newAuthority(t testing.TB, opts entratest.Options) *entratest.Authority {
	t.Helper()
	a, err := entratest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := a.AddApp(entratest.App{ClientID: testClientID, Secret: testSecret, Mailboxes: []string{testMailbox}}); err != nil {
		t.Fatal(err)
	}
	a.AddPublicClient(testPublicID)
	a.AddUser(entratest.User{UPN: testUser})
	return a
}

// appConfig is a client-credentials config against a with a cache file in
// a fresh folder.
func appConfig(t testing.TB, a *entratest.Authority) Config {
	t.Helper()
	return Config{
		Flow:          FlowClientCredentials,
		Tenant:        a.TenantDomain(),
		ClientID:      testClientID,
		ClientSecret:  testSecret,
		AuthorityHost: a.URL(),
		HTTPClient:    a.HTTPClient(),
		CacheFile:     filepath.Join(t.TempDir(), "m365send", "alerts.json"),
	}
}

// userConfig is a device-code config against a.
func userConfig(t testing.TB, a *entratest.Authority) Config {
	t.Helper()
	return Config{
		Flow:          FlowDeviceCode,
		Tenant:        a.TenantDomain(),
		ClientID:      testPublicID,
		AuthorityHost: a.URL(),
		HTTPClient:    a.HTTPClient(),
		CacheFile:     filepath.Join(t.TempDir(), "m365send", "me.json"),
	}
}

func mustNew(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testLock takes the file lock at path (a cache file's path + ".lock") as
// a Source would.
func testLock(ctx context.Context, path string) (*tokencache.FileLock, error) {
	return tokencache.New(strings.TrimSuffix(path, ".lock"), 0, slog.New(slog.DiscardHandler)).Lock(ctx)
}
