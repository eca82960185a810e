package status

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/m365send/m365send/token"
)

// TestRefreshInactivityThresholds plays the clock: a refresh token used
// 59 days ago is fine, 61 days ago needs attention, 91 days ago a sign-in.
func TestRefreshInactivityThresholds(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	cacheDir := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(`[profiles.me]
flow = "device_code"
tenant = "contoso.onmicrosoft.com"
client_id = "99999999-8888-7777-6666-555555555555"
cache_dir = "`+cacheDir+`"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(cacheDir, "me.json")
	if err := os.WriteFile(cache, []byte(`{"Account":{"k":{"username":"adele@contoso.com"}},"RefreshToken":{"k":{}},"AccessToken":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	used := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec := &Recorder{Profile: "me", File: HealthFile(cache), Now: func() time.Time { return used }}
	rec.Event(token.Event{Kind: token.EventSignedIn, Account: "adele@contoso.com"})
	for _, tc := range []struct {
		days int
		code int
	}{{59, CodeOK}, {61, CodeSoon}, {91, CodeSignInRequired}} {
		r, err := Check(Options{ConfigFile: cfg, Env: func(string) string { return "" }, Now: used.AddDate(0, 0, tc.days)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != tc.code || len(r.Profiles) != 1 || r.Profiles[0].Account != "adele@contoso.com" {
			t.Errorf("%d days: code %d, want %d (%+v)", tc.days, r.Code, tc.code, r.Profiles)
		}
	}
}
