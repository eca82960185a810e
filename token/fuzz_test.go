package token

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/m365send/m365send/internal/tokencache"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/m365send/m365send/internal/failure"
)

// Seeds for the fuzz targets are real inputs: caches written by MSAL for
// an entratest sign-in (testdata/*-cache.json, tokens of the throwaway
// test authority), Entra ID error answers in the documented shape, and
// Retry-After values in both of RFC 9110's forms.

func cacheSeeds(f *testing.F) {
	for _, name := range []string{"testdata/user-cache.json", "testdata/app-cache.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{}"))
	f.Add([]byte(`{"AccessToken":{"k":{"expires_on":"1"}}}`))
	f.Add([]byte(`{"AccessToken":{"k":{"expires_on":99999999999}},"RefreshToken":{}}`))
	f.Add([]byte(`{"AccessToken":[]}`))
}

// The cache filter never fails on a cache, keeps it JSON, and leaves no
// access token that expires too soon.
func FuzzCacheFilter(f *testing.F) {
	cacheSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Unix(1795980000, 0)
		for _, force := range []bool{false, true} {
			st := &tokencache.Store{MinValidity: DefaultMinValidity, Now: func() time.Time { return now }, Force: force}
			out, err := st.Filter(data)
			if err != nil {
				continue
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal(out, &top); err != nil {
				t.Fatalf("filter output is not a JSON object: %v", err)
			}
			raw, ok := top["AccessToken"]
			if !ok || bytes.Equal(out, data) && !json.Valid(raw) {
				continue
			}
			var all map[string]struct {
				ExpiresOn json.RawMessage `json:"expires_on"`
			}
			if err := json.Unmarshal(raw, &all); err != nil {
				continue // null or an odd shape left as it was
			}
			for k, at := range all {
				if force {
					t.Fatalf("force kept access token %q", k)
				}
				var exp int64
				if err := json.Unmarshal(bytes.Trim(at.ExpiresOn, `"`), &exp); err != nil || exp < now.Add(DefaultMinValidity).Unix() {
					t.Fatalf("kept access token %q expiring at %s", k, at.ExpiresOn)
				}
			}
		}
	})
}

// Whatever the cache file holds, MSAL reading it through the store never
// fails and never panics: a corrupt cache is set aside and the flow starts
// over.
func FuzzCacheFile(f *testing.F) {
	cacheSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		st := tokencache.New("", DefaultMinValidity, slog.New(slog.DiscardHandler))
		st.Mem = data
		c, err := public.New(testPublicID, public.WithAuthority("https://login.microsoftonline.com/contoso.onmicrosoft.com"),
			public.WithCache(st), public.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Accounts(context.Background()); err != nil {
			t.Fatalf("Accounts: %v", err)
		}
	})
}

// ParseClaims never panics, and reads back what a JWT's payload holds.
func FuzzParseClaims(f *testing.F) {
	tok, err := os.ReadFile("testdata/user-cache.json")
	if err != nil {
		f.Fatal(err)
	}
	var cache struct {
		AccessToken map[string]struct {
			Secret string `json:"secret"`
		}
	}
	if err := json.Unmarshal(tok, &cache); err != nil {
		f.Fatal(err)
	}
	for _, at := range cache.AccessToken {
		f.Add(at.Secret)
	}
	f.Add("a.b.c")
	f.Add("x." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":["https://outlook.office365.com"],"exp":1.5e9,"roles":["SMTP.SendAsApp"]}`)) + ".y")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClaims(s)
		if err != nil {
			return
		}
		if strings.Count(s, ".") != 2 {
			t.Fatalf("accepted %q, which is not three parts", s)
		}
		_ = c.ExpiresAt.Unix()
	})
}

// entraSeeds are Entra ID error answers as the token endpoint sends them.
var entraSeeds = []string{
	`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 2a8c\r\nCorrelation ID: 5d1e\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[7000215],"timestamp":"2026-01-01 00:00:00Z","trace_id":"2a8c","correlation_id":"5d1e","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`,
	`{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.","error_codes":[700082]}`,
	`{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop."}`,
	`{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error. Authorization is pending."}`,
	`{"error":"invalid_request\r\nX-Injected: 1","error_description":"\u001b[2Jcleared"}`,
	`<html>502 Bad Gateway</html>`,
	``,
}

// An Entra ID error answer, whatever its body, status and Retry-After,
// becomes an *Error whose text is one line without control characters
// (it reaches a terminal), whose kind is one of the
// vocabulary's, and whose RetryAfter is not negative.
func FuzzEntraError(f *testing.F) {
	for _, s := range entraSeeds {
		for _, status := range []int{400, 401, 429, 503} {
			f.Add(s, status, "120")
		}
	}
	f.Add(entraSeeds[2], 503, "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, body string, status int, retryAfter string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retryAfter}}, Body: io.NopCloser(strings.NewReader(body))}
		e := fromResponse(resp, nil)
		msg := e.Error()
		if strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }) {
			t.Fatalf("Error() holds control characters: %q", msg)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("RetryAfter %v", e.RetryAfter)
		}
		k := e.Kind()
		if k < failure.Internal || k > failure.Quota {
			t.Fatalf("kind %d", k)
		}
		if strings.ContainsAny(e.Hint(), "\r\n") {
			t.Fatalf("hint is not one line: %q", e.Hint())
		}
	})
}
