package doctor

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/token"
)

// unsignedJWT makes a token whose payload is claims; doctor only decodes
// claims (the SMTP server verifies signatures), so no signature is needed.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + ".c2ln"
}

func TestDoctorClaims(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	exp := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		name   string
		flow   string
		claims map[string]any
		status Status       // the claims step's status
		kind   failure.Kind // what it calls for when not ok
		detail string
	}{
		{"app token", config.FlowClientCredentials,
			map[string]any{"aud": "https://outlook.office365.com", "roles": []string{"SMTP.SendAsApp"}, "tid": tenant, "exp": exp}, OK, 0, "roles SMTP.SendAsApp"},
		{"Exchange's application ID as audience", config.FlowClientCredentials,
			map[string]any{"aud": "00000002-0000-0ff1-ce00-000000000000", "roles": []string{"SMTP.SendAsApp"}, "tid": tenant, "exp": exp}, OK, 0, ""},
		{"Graph token: wrong audience", config.FlowClientCredentials,
			map[string]any{"aud": "https://graph.microsoft.com", "roles": []string{"Mail.Send"}, "tid": tenant, "exp": exp}, Fail, failure.Config, `audience is "https://graph.microsoft.com"`},
		{"another tenant", config.FlowClientCredentials,
			map[string]any{"aud": "https://outlook.office365.com", "roles": []string{"SMTP.SendAsApp"}, "tid": "11111111-2222-3333-4444-555555555555", "exp": exp}, Fail, failure.Config, "from tenant"},
		{"expired", config.FlowClientCredentials,
			map[string]any{"aud": "https://outlook.office365.com", "roles": []string{"SMTP.SendAsApp"}, "tid": tenant, "exp": time.Now().Add(-time.Minute).Unix()}, Fail, failure.Temporary, "expired"},
		{"app without the role is decided after AUTH", config.FlowClientCredentials,
			map[string]any{"aud": "https://outlook.office365.com", "roles": []string{"Mail.Send"}, "tid": tenant, "exp": exp}, Pending, failure.Permission, "no SMTP.SendAsApp role (roles: Mail.Send)"},
		{"delegated token", config.FlowDeviceCode,
			map[string]any{"aud": "https://outlook.office.com", "scp": "SMTP.Send offline_access", "upn": "adele@contoso.com", "tid": tenant, "exp": exp}, OK, 0, "scp SMTP.Send for adele@contoso.com"},
		{"delegated token without SMTP.Send", config.FlowDeviceCode,
			map[string]any{"aud": "https://outlook.office365.com", "scp": "IMAP.AccessAsUser.All", "tid": tenant, "exp": exp}, Fail, failure.Permission, "no SMTP.Send scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			global, err := cloud.Lookup("global")
			if err != nil {
				t.Fatal(err)
			}
			cfg := token.Config{Flow: token.Flow(tc.flow), Tenant: tenant, ClientID: "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d", ClientSecret: "x"}
			if tc.flow == config.FlowDeviceCode {
				cfg.ClientSecret = ""
			}
			src, err := token.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := &session.Session{Profile: &config.Profile{Name: "p", Flow: tc.flow, Tenant: tenant, Cloud: "global"}, Tokens: src, Cloud: global}
			d := &Report{}
			d.claims(s, &oauth2.Token{AccessToken: unsignedJWT(t, tc.claims)})
			if len(d.Results) != 1 {
				t.Fatalf("%d results, want 1", len(d.Results))
			}
			r := d.Results[0]
			if r.Step != "claims" || r.Status != tc.status || (tc.status != OK && r.Kind != tc.kind) {
				t.Errorf("result %+v, want status %s kind %s", r, tc.status, tc.kind)
			}
			if !strings.Contains(r.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", r.Detail, tc.detail)
			}
			if tc.status == Fail && r.Fix == "" {
				t.Error("no fix")
			}
		})
	}
}

func TestDoctorWarnsAboutForeignHosts(t *testing.T) {
	global, err := cloud.Lookup("global")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, smtp, authority string
		warn                  []string // hosts warned about, in order
	}{
		{"Microsoft's hosts", "smtp.office365.com", "", nil},
		{"Microsoft's hosts spelled otherwise", "SMTP.Office365.com.", "https://login.microsoftonline.com/", nil},
		{"loopback", "127.0.0.1", "https://localhost:8443", nil},
		{"IPv6 loopback", "::1", "[::1]:9443", nil},
		{"a relay", "mail.example.net", "", []string{"mail.example.net"}},
		{"a foreign authority", "smtp.office365.com", "https://login.example.org:8443/x", []string{"login.example.org"}},
		{"both", "10.1.2.3", "login.example.org", []string{"login.example.org", "10.1.2.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Report{}
			d.warnForeignHosts(global, tc.smtp, tc.authority)
			if d.Failed != 0 {
				t.Errorf("%d failures: a foreign host is a warning, not a failure", d.Failed)
			}
			if len(d.Results) != len(tc.warn) {
				t.Fatalf("%d results, want %d: %+v", len(d.Results), len(tc.warn), d.Results)
			}
			for i, host := range tc.warn {
				r := d.Results[i]
				want := "tokens and secrets are sent to " + host + "; make sure it is yours"
				if r.Status != Warn || r.Step != "config" || !strings.Contains(r.Detail, want) {
					t.Errorf("result %d = %+v, want a config warning %q", i, r, want)
				}
			}
		})
	}
}
