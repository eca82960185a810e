package authcode

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestLoopbackRedirect(t *testing.T) {
	for uri, want := range map[string]bool{
		"http://localhost":          true,
		"http://127.0.0.1:5000/cb":  true,
		"http://[::1]:8080":         true,
		"https://localhost":         false,
		"http://example.com":        false,
		"http://user@localhost":     false,
		"http://localhost/#frag":    false,
		"http://127.0.0.1.nip.io/x": false,
	} {
		if got := LoopbackRedirect(uri); got != want {
			t.Errorf("LoopbackRedirect(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestRedeemOnceWithTheVerifier(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	c := Code{ClientID: "app", TenantID: "tid", UPN: "adele@contoso.com", RedirectURI: "http://localhost",
		Challenge: base64.RawURLEncoding.EncodeToString(sum[:]), Expires: now.Add(Lifetime)}
	var s Store

	wrong := s.Issue(c)
	if _, code := s.Redeem(wrong, "app", "http://localhost", strings.Repeat("w", 43), now); code != 501481 {
		t.Errorf("wrong verifier: AADSTS%d", code)
	}
	if _, code := s.Redeem(wrong, "app", "http://localhost", verifier, now); code != 54005 {
		t.Errorf("after a failed try the code is spent: AADSTS%d, want 54005", code)
	}
	if _, code := s.Redeem(s.Issue(c), "app", "http://localhost", verifier, now.Add(Lifetime+time.Second)); code != 70008 {
		t.Errorf("expired: AADSTS%d", code)
	}
	if _, code := s.Redeem(s.Issue(c), "app", "http://localhost:1234", verifier, now); code != 500112 {
		t.Errorf("another redirect URI: AADSTS%d", code)
	}
	if _, code := s.Redeem(s.Issue(c), "other", "http://localhost", verifier, now); code != 9002313 {
		t.Errorf("another client: AADSTS%d", code)
	}
	got, code := s.Redeem(s.Issue(c), "app", "http://localhost", verifier, now)
	if code != 0 || got.UPN != "adele@contoso.com" || got.TenantID != "tid" {
		t.Errorf("right verifier: %+v AADSTS%d", got, code)
	}
}
