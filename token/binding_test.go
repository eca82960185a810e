package token

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

// sidecar returns the credential sidecar's bytes and checks its mode and
// that it does not hold secret.
func sidecar(t *testing.T, cacheFile, secret string) []byte {
	t.Helper()
	path := cacheFile + ".cred"
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("credential sidecar: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credential sidecar mode %04o, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" && bytes.Contains(b, []byte(secret)) {
		t.Fatalf("credential sidecar holds the secret: %s", b)
	}
	return b
}

// wantRequests checks the number of token requests a has answered.
func wantRequests(t *testing.T, a *entratest.Authority, want int, what string) {
	t.Helper()
	if got := a.Requests(entratest.EndpointToken, ""); got != want {
		t.Fatalf("%s: token requests = %d, want %d", what, got, want)
	}
}

// A changed client secret is checked by Entra ID at once, not when the
// cached token runs out: a wrong one fails with AADSTS7000215, a right
// one gets a new token and rebinds the cache.
func TestChangedSecretIsCheckedByEntraID(t *testing.T) {
	ctx := context.Background()
	a := newAuthority(t, entratest.Options{})
	cfgA := appConfig(t, a)
	first, err := mustNew(t, cfgA).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 1, "first token")
	boundA := sidecar(t, cfgA.CacheFile, testSecret)

	// Unchanged secret: the cache answers.
	tok, err := mustNew(t, cfgA).TokenContext(ctx)
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("unchanged secret: %v, same token %v", err, err == nil && tok.AccessToken == first.AccessToken)
	}
	wantRequests(t, a, 1, "unchanged secret")

	// A mistyped new secret fails at once.
	cfgB := cfgA
	cfgB.ClientSecret = "mistyped-new-secret-value"
	_, err = mustNew(t, cfgB).TokenContext(ctx)
	var te *Error
	if !errors.As(err, &te) || te.Code != 7000215 {
		t.Fatalf("wrong secret: err = %v, want AADSTS7000215", err)
	}
	wantRequests(t, a, 2, "wrong secret")
	if b := sidecar(t, cfgA.CacheFile, cfgB.ClientSecret); !bytes.Equal(b, boundA) {
		t.Fatal("a refused credential rewrote the sidecar")
	}
	// The refused attempt left A's token, still bound to A.
	assertCacheParses(t, cfgA.CacheFile, 1)
	tok, err = mustNew(t, cfgA).TokenContext(ctx)
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("secret A after the refused B: %v", err)
	}
	wantRequests(t, a, 2, "secret A after the refused B")

	// The secret is rotated in Entra ID and in the profile.
	const secretC = "rotated-secret-value-C"
	if err := a.AddApp(entratest.App{ClientID: testClientID, Secret: secretC, Mailboxes: []string{testMailbox}}); err != nil {
		t.Fatal(err)
	}
	cfgC := cfgA
	cfgC.ClientSecret = secretC
	tokC, err := mustNew(t, cfgC).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 3, "rotated secret")
	if tokC.AccessToken == first.AccessToken {
		t.Fatal("rotated secret was handed the old secret's cached token")
	}
	if err := a.Verify(tokC.AccessToken, testMailbox); err != nil {
		t.Fatal(err)
	}
	if b := sidecar(t, cfgA.CacheFile, secretC); bytes.Equal(b, boundA) {
		t.Fatal("sidecar not rewritten for the rotated secret")
	}
	tok, err = mustNew(t, cfgC).TokenContext(ctx)
	if err != nil || tok.AccessToken != tokC.AccessToken {
		t.Fatalf("rotated secret again: %v", err)
	}
	wantRequests(t, a, 3, "rotated secret again")
}

// A changed certificate is checked by Entra ID at once too.
func TestChangedCertificateIsCheckedByEntraID(t *testing.T) {
	ctx := context.Background()
	a := newAuthority(t, entratest.Options{})
	cfg := certConfig(t, a, writeCert(t, a, true))
	first, err := mustNew(t, cfg).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 1, "first token")
	bound := sidecar(t, cfg.CacheFile, "")
	if _, err := mustNew(t, cfg).TokenContext(ctx); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 1, "unchanged certificate")

	// An unregistered certificate fails at once.
	wrong := cfg
	wrong.CertificateFile = writeCert(t, a, false)
	_, err = mustNew(t, wrong).TokenContext(ctx)
	var te *Error
	if !errors.As(err, &te) || te.Code != 700027 {
		t.Fatalf("unregistered certificate: err = %v, want AADSTS700027", err)
	}
	wantRequests(t, a, 2, "unregistered certificate")
	if b := sidecar(t, cfg.CacheFile, ""); !bytes.Equal(b, bound) {
		t.Fatal("a refused certificate rewrote the sidecar")
	}

	// A newly registered certificate gets a new token and rebinds.
	renewed := cfg
	renewed.CertificateFile = writeCert(t, a, true)
	tok, err := mustNew(t, renewed).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 3, "renewed certificate")
	if tok.AccessToken == first.AccessToken {
		t.Fatal("renewed certificate was handed the old certificate's cached token")
	}
	if b := sidecar(t, cfg.CacheFile, ""); bytes.Equal(b, bound) {
		t.Fatal("sidecar not rewritten for the renewed certificate")
	}
	if _, err := mustNew(t, renewed).TokenContext(ctx); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, a, 3, "renewed certificate again")
}

// A cache without a sidecar (written before the binding existed, or with
// the sidecar lost) is not trusted once; Forget removes the sidecar.
func TestCacheWithoutSidecarAsksEntraIDOnce(t *testing.T) {
	ctx := context.Background()
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	if _, err := mustNew(t, cfg).TokenContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.CacheFile + ".cred"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := mustNew(t, cfg).TokenContext(ctx); err != nil {
			t.Fatal(err)
		}
		wantRequests(t, a, 2, "cache without sidecar, call "+string(rune('1'+i)))
	}
	sidecar(t, cfg.CacheFile, testSecret)
	if err := Forget(ctx, cfg.CacheFile); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.CacheFile + ".cred"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("sidecar remains after Forget (%v)", err)
	}
}
