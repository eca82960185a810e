package token

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/m365send/m365send/token/entratest"
)

// lazyClient returns an HTTP client for a that builds its transport on
// first use, counting how often the roots were asked for.
func lazyClient(a *entratest.Authority, built *atomic.Int32) *http.Client {
	return NewLazyHTTPClient(func() (*x509.CertPool, error) {
		built.Add(1)
		return a.HTTPClient().Transport.(*http.Transport).TLSClientConfig.RootCAs, nil
	})
}

func TestCacheHitBuildsNoMSALClientAndLoadsNoRoots(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	var built atomic.Int32
	cfg.HTTPClient = lazyClient(a, &built)
	if _, err := mustNew(t, cfg).Token(); err != nil {
		t.Fatal(err)
	}
	if built.Load() != 1 {
		t.Fatalf("first token: roots built %d times, want 1", built.Load())
	}

	// A new process: a new Source over the same cache file.
	built.Store(0)
	cfg.HTTPClient = lazyClient(a, &built)
	s := mustNew(t, cfg)
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || time.Until(tok.Expiry) < DefaultMinValidity {
		t.Fatalf("cache hit gave %+v", tok)
	}
	if s.conf != nil || s.pub != nil {
		t.Fatal("a cache hit built an MSAL client")
	}
	if built.Load() != 0 {
		t.Fatalf("a cache hit loaded TLS roots %d times", built.Load())
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
}

func TestDeviceCodeCacheHitBuildsNoMSALClient(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
	if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := mustNew(t, cfg)
	if _, err := s.Token(); err != nil {
		t.Fatal(err)
	}
	if s.pub != nil {
		t.Fatal("a cache hit built the MSAL public client")
	}
}

func TestCacheFastPathLeavesOtherCasesToMSAL(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	if _, err := mustNew(t, cfg).Token(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		adjust func(*Config)
	}{
		// The token has under an hour left: asking for more than that
		// makes it too old.
		{"too close to expiry", func(c *Config) { c.MinValidity = 2 * time.Hour }},
		{"another credential", func(c *Config) { c.ClientSecret = "another-secret" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.adjust(&c)
			before := a.Requests(entratest.EndpointToken, "")
			s := mustNew(t, c)
			_, err := s.Token()
			if s.conf == nil {
				t.Fatal("MSAL was not asked")
			}
			if got := a.Requests(entratest.EndpointToken, ""); got != before+1 {
				t.Fatalf("token requests %d → %d, want one more (err %v)", before, got, err)
			}
		})
	}
	// Another tenant or client never takes this cache's token.
	s := mustNew(t, cfg)
	s.cfg.ClientID = "00000000-0000-0000-0000-000000000001"
	if tok := s.fromCache(); tok != nil {
		t.Fatal("another client's token was taken from the cache")
	}
	s = mustNew(t, cfg)
	s.cfg.Tenant = "fabrikam.onmicrosoft.com"
	if tok := s.fromCache(); tok != nil {
		t.Fatal("another tenant's token was taken from the cache")
	}
	s = mustNew(t, cfg)
	s.scopes = []string{"https://graph.microsoft.com/.default"}
	if tok := s.fromCache(); tok != nil {
		t.Fatal("a token for another resource was taken from the cache")
	}
	want, err := mustNew(t, cfg).Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok := mustNew(t, cfg).fromCache(); tok == nil || tok.AccessToken != want.AccessToken {
		t.Fatal("the matching token was not taken from the cache")
	}
}

func TestLazyHTTPClientReportsRootsError(t *testing.T) {
	want := errors.New("no roots")
	c := NewLazyHTTPClient(func() (*x509.CertPool, error) { return nil, want })
	req, err := http.NewRequest(http.MethodGet, "https://127.0.0.1:1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(req); !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}
