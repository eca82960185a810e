package entratest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const publicID = "public-client"

func startDeviceCode(t *testing.T, a *Authority) (deviceCode, userCode string) {
	t.Helper()
	status, body := postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {publicID}, "scope": {DefaultResource + "/SMTP.Send openid offline_access profile"},
	})
	if status != 200 {
		t.Fatalf("devicecode: %d %v", status, body)
	}
	if !strings.Contains(body["message"].(string), body["user_code"].(string)) {
		t.Errorf("message %q lacks the user code", body["message"])
	}
	return body["device_code"].(string), body["user_code"].(string)
}

func poll(t *testing.T, a *Authority, deviceCode string) (int, map[string]any) {
	t.Helper()
	return postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{
		"client_id": {publicID}, "grant_type": {"device_code"}, "device_code": {deviceCode},
		"scope": {DefaultResource + "/SMTP.Send openid offline_access profile"},
	})
}

func TestDeviceCodeStates(t *testing.T) {
	a := newTestAuthority(t, Options{SlowDownPolls: 1, PendingPolls: 1})
	a.AddPublicClient(publicID)
	var notified string
	a.OnDeviceCode(func(code string) { notified = code })
	dc, uc := startDeviceCode(t, a)
	if notified != uc {
		t.Fatalf("OnDeviceCode got %q, want %q", notified, uc)
	}
	if got := a.PendingDeviceCodes(); len(got) != 1 || got[0] != uc {
		t.Fatalf("PendingDeviceCodes = %v", got)
	}
	if _, body := poll(t, a, dc); body["error"] != "slow_down" {
		t.Fatalf("poll 1: %v", body)
	}
	if err := a.ApproveDeviceCode(strings.ToLower(uc), "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if _, body := poll(t, a, dc); body["error"] != "authorization_pending" {
		t.Fatalf("poll 2 (pending count not reached): %v", body)
	}
	status, body := poll(t, a, dc)
	if status != 200 {
		t.Fatalf("poll 3: %d %v", status, body)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token", "client_info"} {
		if body[k] == "" || body[k] == nil {
			t.Errorf("answer lacks %s", k)
		}
	}
	if body["scope"] != DefaultResource+"/SMTP.Send openid offline_access profile" {
		t.Errorf("scope echo %q", body["scope"])
	}
	ci, err := base64.RawURLEncoding.DecodeString(body["client_info"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]string
	if err := json.Unmarshal(ci, &info); err != nil || info["utid"] != DefaultTenantID || info["uid"] == "" {
		t.Errorf("client_info %s", ci)
	}
	if err := a.Verify(body["access_token"].(string), "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	// A redeemed device code is gone.
	if _, body := poll(t, a, dc); body["error"] != "bad_verification_code" {
		t.Fatalf("poll after success: %v", body)
	}
	if got := a.Requests(EndpointToken, GrantDeviceCode); got != 4 {
		t.Errorf("Requests = %d, want 4", got)
	}
}

func TestDeclinedAndUnknownDeviceCodes(t *testing.T) {
	a := newTestAuthority(t, Options{})
	a.AddPublicClient(publicID)
	dc, uc := startDeviceCode(t, a)
	if err := a.DeclineDeviceCode(uc); err != nil {
		t.Fatal(err)
	}
	if _, body := poll(t, a, dc); body["error"] != "authorization_declined" {
		t.Fatalf("declined: %v", body)
	}
	if err := a.ApproveDeviceCode("NOPE", "x@contoso.com"); err == nil {
		t.Fatal("approved an unknown user code")
	}
	status, body := postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {"not-registered"}, "scope": {DefaultResource + "/SMTP.Send"},
	})
	if status != 400 || body["error"] != "unauthorized_client" {
		t.Fatalf("unknown client: %d %v", status, body)
	}
}

func TestRefreshTokensRotateAndCanBeRevoked(t *testing.T) {
	a := newTestAuthority(t, Options{})
	a.AddPublicClient(publicID)
	a.AddUser(User{UPN: "adele@contoso.com", Mailboxes: []string{"sales@contoso.com"}})
	dc, uc := startDeviceCode(t, a)
	if err := a.ApproveDeviceCode(uc, "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	_, body := poll(t, a, dc)
	rt1 := body["refresh_token"].(string)
	redeem := func(rt string) (int, map[string]any) {
		return postForm(t, a, "/"+DefaultTenantID+"/oauth2/v2.0/token", url.Values{
			"client_id": {publicID}, "grant_type": {GrantRefreshToken}, "refresh_token": {rt},
			"scope": {"https://outlook.office.com/SMTP.Send offline_access"},
		})
	}
	status, body := redeem(rt1)
	if status != 200 || body["refresh_token"] == rt1 {
		t.Fatalf("redeem: %d, rotated=%v", status, body["refresh_token"] != rt1)
	}
	at := body["access_token"].(string)
	if err := a.Verify(at, "sales@contoso.com"); err != nil {
		t.Errorf("shared mailbox refused: %v", err)
	}
	if err := a.Verify(at, "ceo@contoso.com"); err == nil {
		t.Error("a mailbox the user may not use was accepted")
	}
	rt2 := body["refresh_token"].(string)
	if live := a.LiveRefreshTokens("ADELE@contoso.com"); len(live) != 1 || live[0] != rt2 {
		t.Errorf("LiveRefreshTokens = %d tokens, want only the rotated one", len(live))
	}
	issued := a.IssuedTokens()
	for _, tok := range []string{rt1, rt2, at, body["id_token"].(string)} {
		if !slices.Contains(issued, tok) {
			t.Errorf("IssuedTokens lacks a token it issued (%.8s…)", tok)
		}
	}
	if len(issued) != 6 {
		t.Errorf("IssuedTokens holds %d tokens, want 6 (two sign-ins × access, refresh, ID)", len(issued))
	}
	if _, spent := redeem(rt1); spent["error"] != "invalid_grant" {
		t.Fatalf("spent refresh token accepted: %v", spent)
	}
	a.ExpireRefreshTokens("adele@contoso.com")
	if _, body := redeem(rt2); errorCode(body) != 700082 {
		t.Fatalf("expired: %v", body)
	}
	a.RevokeRefreshTokens("ADELE@contoso.com")
	if _, body := redeem(rt2); errorCode(body) != 50173 {
		t.Fatalf("revoked: %v", body)
	}
}

func errorCode(body map[string]any) float64 {
	codes, _ := body["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	c, _ := codes[0].(float64)
	return c
}

func TestDeviceLoginPageApproves(t *testing.T) {
	a := newTestAuthority(t, Options{})
	a.AddPublicClient(publicID)
	dc, uc := startDeviceCode(t, a)
	resp, err := a.HTTPClient().PostForm(a.URL()+"/devicelogin", url.Values{"code": {uc}, "upn": {"joe@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, body := poll(t, a, dc)
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	if err := a.Verify(body["access_token"].(string), "joe@contoso.com"); err != nil {
		t.Fatal(err)
	}
}

// A refresh token is redeemed only in its own tenant; a refusal elsewhere
// does not spend it.
func TestRefreshTokenOnlyInItsTenant(t *testing.T) {
	const fabrikamID = "0c0ffee0-1111-4222-8333-444455556666"
	a := newTestAuthority(t, Options{})
	a.AddPublicClient(publicID)
	a.AddTenant("fabrikam.onmicrosoft.com", fabrikamID)
	dc, uc := startDeviceCode(t, a)
	if err := a.ApproveDeviceCode(uc, "adele@contoso.com"); err != nil {
		t.Fatal(err)
	}
	_, body := poll(t, a, dc)
	rt := body["refresh_token"].(string)
	redeemAt := func(tenant string) (int, map[string]any) {
		return postForm(t, a, "/"+tenant+"/oauth2/v2.0/token", url.Values{
			"client_id": {publicID}, "grant_type": {GrantRefreshToken}, "refresh_token": {rt},
			"scope": {DefaultResource + "/SMTP.Send offline_access"},
		})
	}
	for _, other := range []string{"fabrikam.onmicrosoft.com", fabrikamID} {
		if status, body := redeemAt(other); status == 200 || body["error"] != "invalid_grant" {
			t.Fatalf("a contoso refresh token redeemed at %s: %d %v", other, status, body)
		}
	}
	if status, body := redeemAt(DefaultTenantDomain); status != 200 {
		t.Fatalf("redeem at its own tenant after the refusals: %d %v", status, body)
	}
}
