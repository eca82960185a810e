package entratest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

const authTestClient = "99999999-8888-7777-6666-555555555555"

// authorize asks for a code with the S256 challenge of verifier and
// returns the redirect the browser is sent to.
func authorize(t *testing.T, a *Authority, redirect, verifier string) (string, error) {
	t.Helper()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {authTestClient},
		"response_type":         {"code"},
		"redirect_uri":          {redirect},
		"scope":                 {"https://outlook.office.com/SMTP.Send offline_access"},
		"state":                 {"st-1"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	return Browse(a.HTTPClient(), nil, a.URL()+"/"+DefaultTenantDomain+"/oauth2/v2.0/authorize?"+q.Encode())
}

func redeem(t *testing.T, a *Authority, code, redirect, verifier string) (int, map[string]any) {
	t.Helper()
	return postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{
		"client_id":     {authTestClient},
		"grant_type":    {GrantAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
		"scope":         {"https://outlook.office.com/SMTP.Send offline_access openid profile"},
	})
}

func codeOf(t *testing.T, redirect string) string {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("state") != "st-1" {
		t.Errorf("redirect %s lost the state", redirect)
	}
	return u.Query().Get("code")
}

func TestAuthorizeCodeNeedsTheMatchingVerifierOnce(t *testing.T) {
	a := newTestAuthority(t, Options{AutoApprove: "adele@contoso.com"})
	a.AddPublicClient(authTestClient)
	const redirect = "http://localhost"
	verifier := strings.Repeat("v", 43)

	// A wrong verifier is refused, and spends the code.
	loc, err := authorize(t, a, redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := redeem(t, a, codeOf(t, loc), redirect, strings.Repeat("w", 43)); status != 400 ||
		!strings.Contains(body["error_description"].(string), "AADSTS501481") {
		t.Errorf("wrong verifier: %d %v", status, body["error_description"])
	}

	loc, err = authorize(t, a, redirect, verifier)
	if err != nil {
		t.Fatal(err)
	}
	code := codeOf(t, loc)
	if status, body := redeem(t, a, code, "http://localhost:1234", verifier); status != 400 ||
		!strings.Contains(body["error_description"].(string), "AADSTS500112") {
		t.Errorf("other redirect URI: %d %v", status, body["error_description"])
	}
	loc, _ = authorize(t, a, redirect, verifier)
	code = codeOf(t, loc)
	status, body := redeem(t, a, code, redirect, verifier)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("right verifier: %d %v", status, body)
	}
	if err := a.Verify(body["access_token"].(string), "adele@contoso.com"); err != nil {
		t.Error(err)
	}
	if status, body := redeem(t, a, code, redirect, verifier); status != 400 ||
		!strings.Contains(body["error_description"].(string), "AADSTS54005") {
		t.Errorf("second redemption: %d %v", status, body["error_description"])
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	a := newTestAuthority(t, Options{AutoApprove: "adele@contoso.com"})
	a.AddPublicClient(authTestClient)
	if _, err := authorize(t, a, "https://evil.example/cb", "v"); err == nil || !strings.Contains(err.Error(), "AADSTS50011") {
		t.Errorf("a non-loopback redirect URI: %v, want AADSTS50011 shown in the browser", err)
	}
	q := url.Values{"client_id": {authTestClient}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:5"},
		"scope": {"https://outlook.office.com/SMTP.Send"}, "state": {"s"}}
	loc, err := Browse(a.HTTPClient(), nil, a.URL()+"/"+DefaultTenantDomain+"/oauth2/v2.0/authorize?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loc); u.Query().Get("error") != "invalid_request" || u.Query().Get("code") != "" {
		t.Errorf("no PKCE challenge: sent back to %s, want invalid_request and no code", loc)
	}
	none := newTestAuthority(t, Options{})
	none.AddPublicClient(authTestClient)
	loc, err = authorize(t, none, "http://localhost", "v")
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(loc); u.Query().Get("error") != "access_denied" {
		t.Errorf("nobody to sign in: sent back to %s, want access_denied", loc)
	}
}
