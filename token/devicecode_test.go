package token

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/aadstshints"
	"github.com/m365send/m365send/token/entratest"
)

// approvingPrompt approves every shown device code for upn.
func approvingPrompt(t *testing.T, a *entratest.Authority, upn string, seen *DeviceCode) func(context.Context, DeviceCode) error {
	return func(_ context.Context, dc DeviceCode) error {
		if seen != nil {
			*seen = dc
		}
		return a.ApproveDeviceCode(dc.UserCode, upn)
	}
}

func TestDeviceCodeLoginThenSilentThenRefreshRotates(t *testing.T) {
	a := newAuthority(t, entratest.Options{PendingPolls: 2})
	cfg := userConfig(t, a)
	var shown DeviceCode
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, &shown)
	ctx := context.Background()

	tok, err := mustNew(t, cfg).Login(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.Message, shown.UserCode) || shown.VerificationURL == "" || shown.ExpiresAt.IsZero() {
		t.Errorf("prompt got %+v", shown)
	}
	if err := a.Verify(tok.AccessToken, testUser); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := a.Requests(entratest.EndpointToken, "device_code"); got != 3 {
		t.Errorf("device code polls = %d, want 3 (2 pending + success)", got)
	}
	if got := a.Requests(entratest.EndpointDeviceCode, ""); got != 1 {
		t.Errorf("devicecode requests = %d, want 1", got)
	}
	// The cache file holds the sign-in: the account, its ID token and the
	// refresh token Entra ID issued.
	c := readCache(t, cfg.CacheFile)
	live := a.LiveRefreshTokens(testUser)
	if len(live) != 1 {
		t.Fatalf("entratest has %d live refresh tokens, want 1", len(live))
	}
	rt1 := live[0]
	c.check(t, testUser, rt1)

	// A later process: silent, from the cached access token.
	tok2, err := mustNew(t, cfg).TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken != tok.AccessToken {
		t.Error("silent call did not use the cached access token")
	}
	if got := a.Requests(entratest.EndpointToken, entratest.GrantRefreshToken); got != 0 {
		t.Errorf("refresh requests = %d, want 0", got)
	}

	// Forced refresh redeems the refresh token; the rotated one replaces it.
	s3 := mustNew(t, cfg)
	tok3, err := s3.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok3.AccessToken == tok.AccessToken {
		t.Error("Refresh returned the old token")
	}
	if err := a.Verify(tok3.AccessToken, testUser); err != nil {
		t.Fatalf("Verify refreshed: %v", err)
	}
	// The rotated refresh token replaced the spent one in the file.
	live = a.LiveRefreshTokens(testUser)
	if len(live) != 1 || live[0] == rt1 {
		t.Fatalf("entratest has %d live refresh tokens after a refresh, want 1 new one", len(live))
	}
	readCache(t, cfg.CacheFile).check(t, testUser, live[0])
	if _, err := s3.Refresh(ctx); err != nil {
		t.Fatalf("second refresh with the rotated refresh token: %v", err)
	}
	readCache(t, cfg.CacheFile).check(t, testUser, a.LiveRefreshTokens(testUser)[0])
	if got := a.Requests(entratest.EndpointToken, entratest.GrantRefreshToken); got != 2 {
		t.Errorf("refresh requests = %d, want 2", got)
	}
}

func TestDeviceCodeWithoutLoginNeedsLogin(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	_, err := mustNew(t, userConfig(t, a)).TokenContext(context.Background())
	if !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("err = %v, want ErrLoginRequired", err)
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 0 {
		t.Errorf("token requests = %d, want 0", got)
	}
}

func TestRevokedOrExpiredRefreshTokenNeedsLogin(t *testing.T) {
	for _, c := range []struct {
		name string
		kill func(*entratest.Authority)
		code int
	}{
		{"revoked", func(a *entratest.Authority) { a.RevokeRefreshTokens(testUser) }, 50173},
		{"expired", func(a *entratest.Authority) { a.ExpireRefreshTokens(testUser) }, 700082},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAuthority(t, entratest.Options{})
			cfg := userConfig(t, a)
			cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
			if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
				t.Fatal(err)
			}
			c.kill(a)
			_, err := mustNew(t, cfg).Refresh(context.Background())
			if !errors.Is(err, ErrLoginRequired) {
				t.Fatalf("err = %v, want ErrLoginRequired", err)
			}
			var te *Error
			if !errors.As(err, &te) || te.Code != c.code || te.OAuthError != "invalid_grant" {
				t.Fatalf("err = %#v, want *Error with AADSTS%d", err, c.code)
			}
			if te.Hint() != aadstshints.For(c.code).Hint || !strings.Contains(te.Error(), "AADSTS") {
				t.Errorf("hint %q, message %q", te.Hint(), te.Error())
			}
		})
	}
}

func TestDeviceCodeDeclinedAndExpired(t *testing.T) {
	for _, c := range []struct {
		name, oauth string
		act         func(a *entratest.Authority, code string) error
	}{
		{"declined", "authorization_declined", func(a *entratest.Authority, code string) error { return a.DeclineDeviceCode(code) }},
		{"expired", "expired_token", func(a *entratest.Authority, code string) error { return a.ExpireDeviceCode(code) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAuthority(t, entratest.Options{})
			cfg := userConfig(t, a)
			cfg.DeviceCodePrompt = func(_ context.Context, dc DeviceCode) error { return c.act(a, dc.UserCode) }
			_, err := mustNew(t, cfg).Login(context.Background())
			var te *Error
			if !errors.As(err, &te) || te.OAuthError != c.oauth || te.Hint() == "" {
				t.Fatalf("err = %v, want *Error %s with a hint", err, c.oauth)
			}
		})
	}
}

func TestDeviceCodeSlowDownThenApproved(t *testing.T) {
	a := newAuthority(t, entratest.Options{SlowDownPolls: 1})
	a.OnDeviceCode(func(code string) {
		if err := a.ApproveDeviceCode(code, testUser); err != nil {
			t.Error(err)
		}
	})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = func(context.Context, DeviceCode) error { return nil }
	tok, err := mustNew(t, cfg).Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testUser); err != nil {
		t.Fatal(err)
	}
	if got := a.Requests(entratest.EndpointToken, entratest.GrantDeviceCode); got != 2 {
		t.Errorf("polls = %d, want 2 (slow_down + success)", got)
	}
}

func TestLoginHonoursCancellation(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	cfg.DeviceCodePrompt = func(context.Context, DeviceCode) error {
		go func() {
			// Cancel once the client has polled at least once.
			deadline := time.Now().Add(10 * time.Second)
			for a.Requests(entratest.EndpointToken, entratest.GrantDeviceCode) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			close(polled)
			cancel()
		}()
		return nil
	}
	_, err := mustNew(t, cfg).Login(ctx)
	<-polled
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestAutoApprove(t *testing.T) {
	a := newAuthority(t, entratest.Options{AutoApprove: "bot@contoso.com"})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = func(context.Context, DeviceCode) error { return nil }
	tok, err := mustNew(t, cfg).Login(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseClaims(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.UPN != "bot@contoso.com" || len(c.Scopes) != 1 || c.Scopes[0] != "SMTP.Send" {
		t.Errorf("claims %+v", c)
	}
}

func TestLogoutForgetsTheSignIn(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	s := mustNew(t, cfg)
	if _, err := s.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenContext(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("after logout: err = %v, want ErrLoginRequired", err)
	}
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("new source after logout: err = %v, want ErrLoginRequired", err)
	}
}

// msalCache is the part of MSAL's cache file the tests look at.
type msalCache struct {
	Account map[string]struct {
		Username string `json:"username"`
	}
	IDToken map[string]struct {
		Secret string `json:"secret"`
	} `json:"IdToken"`
	RefreshToken map[string]struct {
		Secret string `json:"secret"`
	}
}

func readCache(t *testing.T, file string) msalCache {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c msalCache
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("cache file does not parse: %v", err)
	}
	return c
}

// check fails unless the cache holds exactly one account (upn), an ID
// token, and exactly one refresh token, rt.
func (c msalCache) check(t *testing.T, upn, rt string) {
	t.Helper()
	if len(c.Account) != 1 {
		t.Fatalf("cache holds %d accounts, want 1", len(c.Account))
	}
	for _, acc := range c.Account {
		if !strings.EqualFold(acc.Username, upn) {
			t.Errorf("cached account is %q, want %q", acc.Username, upn)
		}
	}
	if len(c.IDToken) == 0 {
		t.Error("cache holds no ID token")
	}
	if len(c.RefreshToken) != 1 {
		t.Fatalf("cache holds %d refresh tokens, want 1", len(c.RefreshToken))
	}
	for _, e := range c.RefreshToken {
		if e.Secret != rt {
			t.Error("the cached refresh token is not the one Entra ID issued last")
		}
	}
}

// A second sign-in as another person replaces the first: one account, one
// refresh token, the new person's.
func TestSecondLoginAsAnotherUserLeavesOneAccount(t *testing.T) {
	const other = "megan@contoso.com"
	a := newAuthority(t, entratest.Options{})
	a.AddUser(entratest.User{UPN: other})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	ctx := context.Background()
	if _, err := mustNew(t, cfg).Login(ctx); err != nil {
		t.Fatal(err)
	}
	readCache(t, cfg.CacheFile).check(t, testUser, a.LiveRefreshTokens(testUser)[0])

	cfg.DeviceCodePrompt = approvingPrompt(t, a, other, nil)
	s := mustNew(t, cfg)
	if _, err := s.Login(ctx); err != nil {
		t.Fatal(err)
	}
	live := a.LiveRefreshTokens(other)
	if len(live) != 1 {
		t.Fatalf("entratest has %d live refresh tokens for %s, want 1", len(live), other)
	}
	c := readCache(t, cfg.CacheFile)
	c.check(t, other, live[0])
	if len(c.IDToken) != 1 {
		t.Errorf("cache holds %d ID tokens, want only the new person's", len(c.IDToken))
	}
	tok, err := s.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := ParseClaims(tok.AccessToken); err != nil || claims.UPN != other {
		t.Errorf("token after the second sign-in is for %q (%v), want %s", claims.UPN, err, other)
	}
}
