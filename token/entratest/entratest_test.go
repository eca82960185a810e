package entratest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func newTestAuthority(t *testing.T, opts Options) *Authority {
	t.Helper()
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func postForm(t *testing.T, a *Authority, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := a.HTTPClient().PostForm(a.URL()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestOpenIDConfigurationForDomainAndGUID(t *testing.T) {
	a := newTestAuthority(t, Options{})
	for _, tenant := range []string{DefaultTenantDomain, DefaultTenantID, strings.ToUpper(DefaultTenantDomain)} {
		resp, err := a.HTTPClient().Get(a.URL() + "/" + tenant + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: status %d, %v", tenant, resp.StatusCode, err)
		}
		if doc["token_endpoint"] != a.URL()+"/"+tenant+"/oauth2/v2.0/token" {
			t.Errorf("%s: token_endpoint %v", tenant, doc["token_endpoint"])
		}
		if doc["issuer"] != a.URL()+"/"+DefaultTenantID+"/v2.0" {
			t.Errorf("%s: issuer %v", tenant, doc["issuer"])
		}
	}
	if got := a.Requests(EndpointOpenIDConfiguration, ""); got != 3 {
		t.Errorf("counted %d metadata requests, want 3", got)
	}
}

func TestUnknownTenantAnswersAADSTS90002(t *testing.T) {
	a := newTestAuthority(t, Options{})
	status, body := postForm(t, a, "/fabrikam.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"client_id": {"x"}, "grant_type": {GrantClientCredentials}, "scope": {DefaultResource + "/.default"},
	})
	if status != 400 || body["error"] != "invalid_tenant" {
		t.Fatalf("status %d body %v", status, body)
	}
	if !strings.HasPrefix(body["error_description"].(string), "AADSTS90002: ") {
		t.Errorf("error_description %q", body["error_description"])
	}
}

func TestFailClientAnswersRealErrorShape(t *testing.T) {
	a := newTestAuthority(t, Options{})
	if err := a.AddApp(App{ClientID: "app", Secret: "pw"}); err != nil {
		t.Fatal(err)
	}
	a.FailClient("app", 7000222)
	status, body := postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{
		"client_id": {"app"}, "client_secret": {"pw"}, "grant_type": {GrantClientCredentials},
		"scope": {DefaultResource + "/.default"},
	})
	if status != 401 || body["error"] != "invalid_client" {
		t.Fatalf("status %d body %v", status, body)
	}
	for _, k := range []string{"error_codes", "timestamp", "trace_id", "correlation_id"} {
		if _, ok := body[k]; !ok {
			t.Errorf("error body lacks %s", k)
		}
	}
	if codes, _ := body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(7000222) {
		t.Errorf("error_codes = %v", body["error_codes"])
	}
	if !strings.HasPrefix(body["error_description"].(string), "AADSTS7000222: ") {
		t.Errorf("error_description %q", body["error_description"])
	}
}

func TestClientCredentialsChecksSecretAndScope(t *testing.T) {
	a := newTestAuthority(t, Options{})
	if err := a.AddApp(App{ClientID: "app", Secret: "pw", Mailboxes: []string{"alerts@contoso.com"}}); err != nil {
		t.Fatal(err)
	}
	tokenPath := "/" + DefaultTenantDomain + "/oauth2/v2.0/token"
	cases := []struct {
		name   string
		secret string
		scope  string
		code   float64
	}{
		{"wrong secret", "nope", DefaultResource + "/.default", 7000215},
		{"not .default", "pw", DefaultResource + "/SMTP.SendAsApp", 1002012},
		{"other resource", "pw", "https://management.azure.com/.default", 70011},
		{"two resources", "pw", DefaultResource + "/.default https://graph.microsoft.com/.default", 700022},
	}
	for _, c := range cases {
		status, body := postForm(t, a, tokenPath, url.Values{
			"client_id": {"app"}, "client_secret": {c.secret}, "grant_type": {GrantClientCredentials}, "scope": {c.scope},
		})
		codes, _ := body["error_codes"].([]any)
		if status < 400 || len(codes) != 1 || codes[0] != c.code {
			t.Errorf("%s: status %d codes %v, want AADSTS%v", c.name, status, codes, c.code)
		}
	}
	status, body := postForm(t, a, tokenPath, url.Values{
		"client_id": {"app"}, "client_secret": {"pw"}, "grant_type": {GrantClientCredentials},
		"scope": {DefaultResource + "/.default openid profile offline_access"},
	})
	if status != 200 {
		t.Fatalf("status %d body %v", status, body)
	}
	at := body["access_token"].(string)
	if err := a.Verify(at, "alerts@contoso.com"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := a.Verify(at, "ceo@contoso.com"); err == nil {
		t.Fatal("Verify accepted a mailbox the app may not use")
	}
	if err := a.Verify(at+"x", "alerts@contoso.com"); err == nil {
		t.Fatal("Verify accepted a tampered token")
	}
	if got := a.Requests(EndpointToken, GrantClientCredentials); got != 5 {
		t.Errorf("Requests = %d, want 5", got)
	}
	postForm(t, a, tokenPath, url.Values{"client_id": {"other"}, "grant_type": {GrantClientCredentials}})
	if got, other := a.RequestsFrom(EndpointToken, "app"), a.RequestsFrom(EndpointToken, "other"); got != 5 || other != 1 {
		t.Errorf("RequestsFrom = %d from app, %d from other; want 5 and 1", got, other)
	}
}

func TestInjectedFaultAnswersThenClears(t *testing.T) {
	a := newTestAuthority(t, Options{})
	a.InjectFault(Fault{Endpoint: EndpointToken, Status: http.StatusTooManyRequests, RetryAfter: 3e9})
	resp, err := a.HTTPClient().PostForm(a.URL()+"/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{"client_id": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	status, _ := postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{"client_id": {"x"}, "grant_type": {GrantClientCredentials}, "client_secret": {"y"}, "scope": {DefaultResource + "/.default"}})
	if status != 400 {
		t.Fatalf("after the fault: status %d, want the normal 400 for an unknown app", status)
	}
}
