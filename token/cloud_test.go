package token

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

func TestScopesFollowFlowAndCloud(t *testing.T) {
	s, err := New(Config{Flow: FlowClientCredentials, Tenant: "t", ClientID: "c", ClientSecret: "x", Cloud: "usgov"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Scopes(); len(got) != 1 || got[0] != "https://outlook.office365.us/.default" {
		t.Errorf("app scopes %v", got)
	}
	if s.authority != "https://login.microsoftonline.us/t" || !s.instanceDiscovery() {
		t.Errorf("authority %s discovery %v", s.authority, s.instanceDiscovery())
	}
	s, err = New(Config{Flow: FlowDeviceCode, Tenant: "t", ClientID: "c", Cloud: "china"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Scopes(); len(got) != 1 || got[0] != "https://partner.outlook.cn/SMTP.Send" {
		t.Errorf("delegated scopes %v", got)
	}
	// Global: the app scope names outlook.office365.com, the delegated one
	// outlook.office.com, as docs/microsoft.md documents.
	for flow, want := range map[Flow]string{
		FlowClientCredentials: "https://outlook.office365.com/.default",
		FlowDeviceCode:        "https://outlook.office.com/SMTP.Send",
	} {
		s, err := New(Config{Flow: flow, Tenant: "t", ClientID: "c", ClientSecret: map[Flow]string{FlowClientCredentials: "x"}[flow]})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Scopes(); len(got) != 1 || got[0] != want {
			t.Errorf("%s scopes on global: %v, want %s", flow, got, want)
		}
	}
}

func TestCustomAuthorityHostTurnsDiscoveryOff(t *testing.T) {
	for _, host := range []string{"127.0.0.1:8443", "https://127.0.0.1:8443", "https://127.0.0.1:8443/"} {
		s, err := New(Config{Flow: FlowDeviceCode, Tenant: "contoso.com", ClientID: "c", AuthorityHost: host})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if s.authority != "https://127.0.0.1:8443/contoso.com" || s.instanceDiscovery() {
			t.Errorf("%s: authority %s discovery %v", host, s.authority, s.instanceDiscovery())
		}
	}
	for _, host := range []string{"http://127.0.0.1:8080", "https://h/path"} {
		if _, err := New(Config{Flow: FlowDeviceCode, Tenant: "t", ClientID: "c", AuthorityHost: host}); err == nil {
			t.Errorf("%s accepted", host)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{Flow: FlowClientCredentials, Tenant: "t", ClientID: "c", ClientSecret: "s"}
	cases := map[string]func(*Config){
		"no flow":         func(c *Config) { c.Flow = "" },
		"bad flow":        func(c *Config) { c.Flow = "password" },
		"no tenant":       func(c *Config) { c.Tenant = "" },
		"tenant path":     func(c *Config) { c.Tenant = "a/b" },
		"no client":       func(c *Config) { c.ClientID = "" },
		"no credential":   func(c *Config) { c.ClientSecret = "" },
		"two credentials": func(c *Config) { c.CertificateFile = "x.pem" },
		"unknown cloud":   func(c *Config) { c.Cloud = "moon" },
		"plain http host": func(c *Config) { c.AuthorityHost = "http://x" },
	}
	for name, mutate := range cases {
		cfg := ok
		mutate(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: secret in error", name)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatal(err)
	}
}

// NewHTTPClient trusts the roots it is given and only those, and bounds
// each request.
func TestNewHTTPClient(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.HTTPClient = NewHTTPClient(a.RootCAs())
	if cfg.HTTPClient.Timeout != DefaultHTTPTimeout {
		t.Errorf("timeout %v", cfg.HTTPClient.Timeout)
	}
	if _, err := mustNew(t, cfg).TokenContext(context.Background()); err != nil {
		t.Fatalf("with the authority's roots: %v", err)
	}
	cfg = appConfig(t, a)
	cfg.HTTPClient = NewHTTPClient(x509.NewCertPool())
	s := mustNew(t, cfg)
	s.sleep = (&fakeSleep{}).sleep
	if _, err := s.TokenContext(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("with other roots: err = %v, want a certificate failure", err)
	}
}
