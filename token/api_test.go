package token

import (
	"context"
	"errors"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

// An app-only Graph source gets a Graph token (Mail.Send role) beside the
// Exchange one in the same cache file: one entry per resource, each
// reused by a later Source.
func TestGraphAppTokenSharesTheCacheFileOneEntryPerResource(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	ctx := context.Background()
	cfg := appConfig(t, a)
	ex, err := mustNew(t, cfg).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gcfg := cfg
	gcfg.API = APIGraph
	gs := mustNew(t, gcfg)
	if got := gs.Scopes(); len(got) != 1 || got[0] != "https://graph.microsoft.com/.default" {
		t.Fatalf("Graph scopes = %q", got)
	}
	gt, err := gs.TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyGraph(gt.AccessToken, testMailbox, entratest.GraphSendRole); err != nil {
		t.Fatalf("VerifyGraph: %v", err)
	}
	if err := a.Verify(gt.AccessToken, testMailbox); !errors.Is(err, entratest.ErrTokenRefused) {
		t.Fatalf("Exchange took a Graph token: %v", err)
	}
	if err := a.VerifyGraph(ex.AccessToken, testMailbox, entratest.GraphSendRole); !errors.Is(err, entratest.ErrTokenRefused) {
		t.Fatalf("Graph took an Exchange token: %v", err)
	}
	assertCacheParses(t, cfg.CacheFile, 2)
	// New sources in another "process" reuse both cached tokens.
	for _, c := range []Config{cfg, gcfg} {
		tok, err := mustNew(t, c).TokenContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[API]string{APIExchange: ex.AccessToken, APIGraph: gt.AccessToken}[c.API]; tok.AccessToken != want {
			t.Errorf("%q: a new token instead of the cached one", c.API)
		}
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 2 {
		t.Fatalf("token requests = %d, want 2 (one per resource)", got)
	}
}

// A person signed in once (SMTP.Send) gets a delegated Graph Mail.Send
// token silently from the same refresh token.
func TestGraphDelegatedTokenAfterOneSignIn(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	ctx := context.Background()
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	if _, err := mustNew(t, cfg).Login(ctx); err != nil {
		t.Fatal(err)
	}
	gcfg := cfg
	gcfg.API = APIGraph
	gt, err := mustNew(t, gcfg).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyGraph(gt.AccessToken, testUser, entratest.GraphSendRole); err != nil {
		t.Fatalf("VerifyGraph: %v", err)
	}
	if got := a.Requests(entratest.EndpointDeviceCode, ""); got != 1 {
		t.Fatalf("device code requests = %d, want 1 (no second sign-in)", got)
	}
}

func TestUnknownAPIIsRefused(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.API = "ews"
	if _, err := New(cfg); err == nil {
		t.Fatal("New took an unknown API")
	}
}
