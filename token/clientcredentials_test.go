package token

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/m365send/m365send/token/entratest"
)

func TestClientSecretTokenVerifiesAndIsCached(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	s := mustNew(t, cfg)
	ctx := context.Background()

	tok, err := s.TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	if got := a.Requests(entratest.EndpointToken, entratest.GrantClientCredentials); got != 1 {
		t.Fatalf("token requests = %d, want 1", got)
	}
	// A second Source (as a second process would) uses the cache file.
	s2 := mustNew(t, cfg)
	tok2, err := s2.TokenContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.AccessToken != tok.AccessToken {
		t.Fatal("second source did not reuse the cached token")
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != 1 {
		t.Fatalf("token requests = %d after cache hit, want 1", got)
	}
	fi, err := os.Stat(cfg.CacheFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %o, want 600", fi.Mode().Perm())
	}
	di, err := os.Stat(cfg.CacheFile[:len(cfg.CacheFile)-len("/alerts.json")])
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("cache folder mode %o, want 700", di.Mode().Perm())
	}
	data, err := os.ReadFile(cfg.CacheFile)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("cache file does not parse: %v", err)
	}
	if len(c["AccessToken"]) != 1 {
		t.Fatalf("cache holds %d access tokens, want 1", len(c["AccessToken"]))
	}
}
