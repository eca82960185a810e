package config

import (
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/configkey"
)

// sourceOf returns the Source of key.
func sourceOf(t *testing.T, p *Profile, key string) Source {
	t.Helper()
	for _, s := range p.Sources() {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no source for %s in %+v", key, p.Sources())
	return Source{}
}

func TestSourcesSayWhereEachValueCameFrom(t *testing.T) {
	f := newFixture(t)
	f.config("default_profile = \"p\"\n\n[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\nmailbox = \"a@contoso.com\"\n")
	otherID := "11111111-2222-3333-4444-555555555555"
	f.env["AZURE_CLIENT_ID"] = otherID
	f.env["AZURE_CLIENT_SECRET"] = "a-secret-value-that-must-not-show"
	f.env["M365SEND_SMTP_PORT"] = "2525"
	p, err := f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != otherID {
		t.Fatalf("client_id %s, want the environment's", p.ClientID)
	}
	for _, tc := range []struct{ key, value, from, overrides string }{
		{"config file", f.file, "default", ""},
		{"profile", `"p"`, f.file + ":1", ""},
		{"tenant", `"` + tenantID + `"`, f.file + ":4", ""},
		{"client_id", `"` + otherID + `"`, "$AZURE_CLIENT_ID", f.file + ":5 (client_id)"},
		{"client_secret", "(hidden)", "$AZURE_CLIENT_SECRET", f.file + ":6 (client_secret_env)"},
		{"smtp_port", "2525", "$M365SEND_SMTP_PORT", ""},
		{"cloud", "global", "default", ""},
		{"rate_per_minute", "0: 30 a minute, Exchange Online's limit per mailbox", "default", ""},
		{"from_name", "(not set)", "default", ""},
	} {
		s := sourceOf(t, p, tc.key)
		if s.Value != tc.value || s.From != tc.from || s.Overrides != tc.overrides {
			t.Errorf("%s: %+v, want value %s from %s overriding %q", tc.key, s, tc.value, tc.from, tc.overrides)
		}
	}
	for _, s := range p.Sources() {
		if strings.Contains(s.Value, "a-secret-value") {
			t.Errorf("%s shows the secret", s.Key)
		}
	}
	w := p.Warnings()
	if len(w) != 2 || !strings.HasPrefix(w[0], "AZURE_CLIENT_ID in the environment overrides client_id set in "+f.file+":5") ||
		!strings.HasPrefix(w[1], "AZURE_CLIENT_SECRET in the environment replaces client_secret_env set in "+f.file+":6") {
		t.Errorf("warnings %q", w)
	}

	// An M365SEND_* variable over the file is meant: no warning.
	f.env = map[string]string{"HOME": f.dir, "M365SEND_MAILBOX": "b@contoso.com"}
	p, err = f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q for an M365SEND_* variable", w)
	}
	if s := sourceOf(t, p, "mailbox"); s.From != "$M365SEND_MAILBOX" || s.Overrides != f.file+":7 (mailbox)" {
		t.Errorf("mailbox: %+v", s)
	}
	if s := sourceOf(t, p, "profile"); s.From != "--profile" {
		t.Errorf("profile: %+v", s)
	}
}

// TestAzureAuthorityHost checks AZURE_AUTHORITY_HOST as azidentity reads
// it: an https URL that applies only when the profile sets neither cloud
// nor authority_host; a cloud's own host selects that cloud.
func TestAzureAuthorityHost(t *testing.T) {
	for _, tc := range []struct {
		name, extra, value     string
		cloud, authority, from string // want
		err                    string
	}{
		{name: "usgov host", value: "https://login.microsoftonline.us/", cloud: "usgov", from: "$AZURE_AUTHORITY_HOST"},
		{name: "china host", value: "https://login.partner.microsoftonline.cn", cloud: "china", from: "$AZURE_AUTHORITY_HOST"},
		{name: "global host", value: "https://login.microsoftonline.com/", cloud: "global", from: "default"},
		{name: "another host", value: "https://login.example.net:8443", cloud: "global", authority: "https://login.example.net:8443", from: "default"},
		{name: "cloud wins", extra: "cloud = \"china\"\n", value: "https://login.microsoftonline.us/", cloud: "china", from: "FILE:5"},
		{name: "authority_host wins", extra: "authority_host = \"login.example.org\"\n", value: "https://login.microsoftonline.us/", cloud: "global", authority: "login.example.org", from: "default"},
		{name: "not https", value: "login.microsoftonline.us", err: "malformed AZURE_AUTHORITY_HOST"},
		{name: "http", value: "http://login.example.net", err: "malformed AZURE_AUTHORITY_HOST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n" + tc.extra)
			f.env["AZURE_AUTHORITY_HOST"] = tc.value
			p, err := f.load(LoadOptions{Profile: "p"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "AZURE_AUTHORITY_HOST") {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Cloud != tc.cloud || p.AuthorityHost != tc.authority {
				t.Errorf("cloud %q authority %q, want %q %q", p.Cloud, p.AuthorityHost, tc.cloud, tc.authority)
			}
			if s := sourceOf(t, p, "cloud"); s.From != strings.ReplaceAll(tc.from, "FILE", f.file) {
				t.Errorf("cloud's source %+v, want from %s", s, tc.from)
			}
			if s := sourceOf(t, p, configkey.AzureAuthority); (tc.extra != "") != strings.HasPrefix(s.Note, "ignored") {
				t.Errorf("AZURE_AUTHORITY_HOST's source %+v", s)
			}
		})
	}
}
