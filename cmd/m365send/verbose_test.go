package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

// signedInWorld is a world with a device-code profile "me" signed in.
func signedInWorld(t *testing.T) (*e2eWorld, string) {
	t.Helper()
	w := newWorld(t, worldOptions{})
	var once sync.Once
	w.auth.OnDeviceCode(func(userCode string) {
		once.Do(func() {
			if err := w.auth.ApproveDeviceCode(userCode, e2eUser); err != nil {
				t.Error(err)
			}
		})
	})
	w.writeConfig(fmt.Sprintf("default_profile = \"me\"\n[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\nmailbox = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, e2eUser, w.endpoints()))
	wantExit(t, w.run(runOpts{}, "login"), 0)
	return w, filepath.Join(w.home, ".cache", "m365send", "me.json")
}

func TestE2ECorruptCacheWarnsWithoutVerboseAndLogoutRemovesIt(t *testing.T) {
	w, cache := signedInWorld(t)
	data, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cache, data[:len(data)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	r := w.run(runOpts{}, "send", "--to", "ops@contoso.com", "--body", "x")
	wantExit(t, r, exitNoPerm)
	if !strings.Contains(r.stderr, "m365send: warning: token cache was corrupt") || !strings.Contains(r.stderr, "moved it aside") || !strings.Contains(r.stderr, cache+".corrupt-") {
		t.Errorf("without -v the set-aside cache is not reported:\n%s", r)
	}
	if strings.Contains(r.stderr, "level=INFO") {
		t.Errorf("Info messages shown without -v:\n%s", r)
	}
	if aside, _ := filepath.Glob(cache + ".corrupt-*"); len(aside) != 1 {
		t.Fatalf("set-aside copies %v, want 1", aside)
	}
	r = w.run(runOpts{}, "logout")
	wantExit(t, r, 0)
	if !strings.Contains(r.stderr, "Removed the cached tokens") {
		t.Errorf("logout output:\n%s", r)
	}
	entries, err := os.ReadDir(filepath.Dir(cache))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(cache), e.Name()))
		if strings.Contains(string(b), "RefreshToken") || strings.Contains(e.Name(), ".corrupt-") {
			t.Errorf("after logout %s remains (%d bytes)", e.Name(), len(b))
		}
	}
}

func TestE2ELogoutNeedsNoWorkingSecret(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	wantExit(t, w.run(runOpts{env: map[string]string{"ALERTS_SECRET": e2eSecret}}, "send", "--to", "ops@contoso.com", "--body", "caches a token"), 0)
	cache := filepath.Join(w.home, ".cache", "m365send", "alerts.json")
	if _, err := os.Stat(cache); err != nil {
		t.Fatal(err)
	}
	// The secret now comes from a command that fails (a locked vault, say)
	// and leaves a mark when it runs.
	marker := filepath.Join(w.dir, "secret-command-ran")
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts",
		fmt.Sprintf(`client_secret_command = ["/bin/sh", "-c", "touch %s; exit 3"]`, marker)))
	r := w.run(runOpts{}, "logout")
	wantExit(t, r, 0)
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("logout left the cache file (%v):\n%s", err, r)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("logout ran the secret command")
	}
}

func TestE2EVerboseSaysWhereCredentialAndTokenCameFrom(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	env := map[string]string{"ALERTS_SECRET": e2eSecret}
	r := w.run(runOpts{env: env}, "send", "-v", "--to", "ops@contoso.com", "--body", "first")
	wantExit(t, r, 0)
	for _, want := range []string{`source="client_secret_env ALERTS_SECRET"`, "new access token from Entra ID", `credential="client secret"`, "expires_in="} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("first send -v: no %q:\n%s", want, r)
		}
	}
	// The same secret again: the cache answers, and -v says so.
	r = w.run(runOpts{env: env}, "send", "-v", "--to", "ops@contoso.com", "--body", "second")
	wantExit(t, r, 0)
	if !strings.Contains(r.stderr, "access token from the token cache") || !strings.Contains(r.stderr, "expires_in=") {
		t.Errorf("second send -v does not say the token came from the cache:\n%s", r)
	}
	if strings.Contains(r.stderr, "new access token") {
		t.Errorf("second send -v says the token is new:\n%s", r)
	}
	// A changed (wrong) secret is not hidden by the cached token: the cache
	// is bound to the secret that filled it, so Entra ID is asked and
	// refuses the new one at once.
	env["ALERTS_SECRET"] = "a-changed-secret"
	w.secrets = append(w.secrets, "a-changed-secret")
	r = w.run(runOpts{env: env}, "send", "-v", "--to", "ops@contoso.com", "--body", "third")
	wantExit(t, r, 78)
	if !strings.Contains(r.stderr, "AADSTS7000215") || !strings.Contains(r.stderr, "not obtained with this credential") {
		t.Errorf("send -v with a changed secret does not say the credential was checked and refused:\n%s", r)
	}
	// The right secret again: the cache (still bound to it) answers, silently.
	env["ALERTS_SECRET"] = e2eSecret
	r = w.run(runOpts{env: env}, "send", "--to", "ops@contoso.com", "--body", "fourth")
	wantExit(t, r, 0)
	if r.stderr != "" {
		t.Errorf("without -v a send printed:\n%s", r)
	}
	if n := w.auth.Requests(entratest.EndpointToken, entratest.GrantClientCredentials); n != 2 {
		t.Errorf("token requests = %d, want 2 (the first send and the refused secret)", n)
	}
}
