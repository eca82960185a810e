package token

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/token/entratest"
)

// playBrowser is an OpenBrowser that plays the person's browser against a
// in the background, as a real browser runs beside m365send.
func playBrowser(t *testing.T, a *entratest.Authority, opened *string) func(string, func(error)) error {
	return func(u string, failed func(error)) error {
		*opened = u
		go func() {
			if _, err := entratest.Browse(a.HTTPClient(), nil, u); err != nil {
				failed(err)
			}
		}()
		return nil
	}
}

func TestBrowserLoginUsesPKCEAndLoopbackThenSilent(t *testing.T) {
	a := newAuthority(t, entratest.Options{AutoApprove: testUser})
	cfg := userConfig(t, a)
	cfg.SignIn = SignInBrowser
	var opened string
	cfg.OpenBrowser = playBrowser(t, a, &opened)
	ctx := context.Background()

	tok, err := mustNew(t, cfg).Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testUser); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	req, ok := a.LastAuthorize()
	if !ok {
		t.Fatal("the authorize endpoint issued no code")
	}
	if req.CodeChallengeMethod != "S256" || len(req.CodeChallenge) != 43 {
		t.Errorf("PKCE challenge %q method %q, want a 43-character S256 challenge", req.CodeChallenge, req.CodeChallengeMethod)
	}
	if !strings.HasPrefix(req.RedirectURI, "http://localhost:") || req.ResponseMode != "form_post" {
		t.Errorf("redirect %q mode %q, want the loopback listener with form_post", req.RedirectURI, req.ResponseMode)
	}
	if !strings.Contains(opened, "/oauth2/v2.0/authorize?") {
		t.Errorf("the browser was sent to %q", opened)
	}
	if n := a.Requests(entratest.EndpointToken, entratest.GrantAuthorizationCode); n != 1 {
		t.Errorf("authorization_code redemptions = %d, want 1", n)
	}
	c := readCache(t, cfg.CacheFile)
	live := a.LiveRefreshTokens(testUser)
	if len(live) != 1 {
		t.Fatalf("%d live refresh tokens, want 1", len(live))
	}
	c.check(t, testUser, live[0])

	// A later process is silent: no second sign-in.
	if _, err := mustNew(t, cfg).Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.Requests(entratest.EndpointAuthorize, ""); n != 1 {
		t.Errorf("authorize requests = %d, want 1", n)
	}
}

func TestBrowserLoginFailsWhenTheBrowserFails(t *testing.T) {
	a := newAuthority(t, entratest.Options{AutoApprove: testUser})
	cfg := userConfig(t, a)
	cfg.SignIn = SignInBrowser
	broken := failure.New(failure.Config, "the browser command fakebrowser failed: exit status 1", "set $BROWSER")
	cfg.OpenBrowser = func(_ string, failed func(error)) error {
		go failed(broken)
		return nil
	}
	_, err := mustNew(t, cfg).Login(context.Background())
	if !errors.Is(err, broken) || failure.KindOf(err) != failure.Config {
		t.Fatalf("Login = %v (kind %v), want the browser's failure as a configuration error", err, failure.KindOf(err))
	}
}

func TestPasteBackLogin(t *testing.T) {
	a := newAuthority(t, entratest.Options{AutoApprove: testUser})
	cfg := userConfig(t, a)
	cfg.SignIn = SignInPasteBack
	cfg.PasteBack = func(_ context.Context, u string) (string, error) {
		return entratest.Browse(a.HTTPClient(), nil, u)
	}
	tok, err := mustNew(t, cfg).Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testUser); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	req, _ := a.LastAuthorize()
	if req.RedirectURI != "http://localhost" || req.CodeChallengeMethod != "S256" || len(req.CodeChallenge) != 43 || req.State == "" {
		t.Errorf("authorize request %+v: want http://localhost, an S256 challenge and a state", req)
	}
	if !strings.Contains(req.Scope, "offline_access") {
		t.Errorf("scope %q lacks offline_access: no refresh token would come", req.Scope)
	}
}

func TestPasteBackRefusals(t *testing.T) {
	a := newAuthority(t, entratest.Options{AutoApprove: testUser})
	for _, tc := range []struct {
		name  string
		paste func(redirect string) string
		kind  failure.Kind
		want  string
	}{
		{"not an address", func(string) string { return "hello" }, failure.Usage, "not the address"},
		{"other state", func(r string) string {
			u, _ := url.Parse(r)
			q := u.Query()
			q.Set("state", "someone-else")
			u.RawQuery = q.Encode()
			return u.String()
		}, failure.Usage, "another sign-in"},
		{"declined", func(string) string {
			return "http://localhost/?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent"
		}, failure.Permission, "AADSTS65004"},
		{"wrong code", func(r string) string {
			u, _ := url.Parse(r)
			q := u.Query()
			q.Set("code", "forged")
			u.RawQuery = q.Encode()
			return u.String()
		}, failure.Config, "AADSTS9002313"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := userConfig(t, a)
			cfg.SignIn = SignInPasteBack
			cfg.PasteBack = func(_ context.Context, u string) (string, error) {
				r, err := entratest.Browse(a.HTTPClient(), nil, u)
				return tc.paste(r), err
			}
			_, err := mustNew(t, cfg).Login(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || failure.KindOf(err) != tc.kind {
				t.Fatalf("Login = %v (kind %v), want %q of kind %v", err, failure.KindOf(err), tc.want, tc.kind)
			}
		})
	}
}
