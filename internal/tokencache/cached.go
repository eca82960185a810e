package tokencache

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Match says which cached access token Cached may hand out.
type Match struct {
	// ClientID is the app registration's client ID.
	ClientID string
	// Tenant is the realm the token must be for; with AnyRealm any realm
	// does (a delegated profile whose tenant is "organizations").
	Tenant   string
	AnyRealm bool
	// Environment, when not "", is the authority host the token must come
	// from.
	Environment string
	// App is true for app-only tokens (no account), false for a
	// delegated one (the cache must then hold exactly one account).
	App bool
	// Scopes must all be in the token's target.
	Scopes []string
	// Until is the least expiry the token must have.
	Until time.Time
}

// cachedAT is the part of an MSAL cache access-token entry Cached reads.
type cachedAT struct {
	HomeAccountID  string `json:"home_account_id"`
	Environment    string `json:"environment"`
	Realm          string `json:"realm"`
	CredentialType string `json:"credential_type"`
	ClientID       string `json:"client_id"`
	Secret         string `json:"secret"`
	Target         string `json:"target"`
	ExpiresOn      string `json:"expires_on"`
	TokenType      string `json:"token_type"`
}

// Cached picks, from the MSAL cache document data, the access token MSAL
// would hand out for m (the one that expires last), without MSAL. ok is
// false when there is none or the document is not one this reader knows:
// the caller then asks MSAL.
func Cached(data []byte, m Match) (token string, expiry time.Time, ok bool) {
	var doc struct {
		AccessToken map[string]cachedAT        `json:"AccessToken"`
		Account     map[string]json.RawMessage `json:"Account"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &doc); err != nil {
		return "", time.Time{}, false
	}
	if !m.App && len(doc.Account) != 1 {
		return "", time.Time{}, false
	}
	for _, at := range doc.AccessToken {
		if !strings.EqualFold(at.CredentialType, "AccessToken") || at.Secret == "" ||
			!strings.EqualFold(at.ClientID, m.ClientID) ||
			!(strings.EqualFold(at.Realm, m.Tenant) || m.AnyRealm && at.Realm != "") ||
			(m.Environment != "" && !strings.EqualFold(at.Environment, m.Environment)) ||
			m.App != (at.HomeAccountID == "") ||
			!coversScopes(at.Target, m.Scopes) ||
			(at.TokenType != "" && !strings.EqualFold(at.TokenType, "Bearer")) {
			continue
		}
		exp, err := strconv.ParseInt(at.ExpiresOn, 10, 64)
		if err != nil {
			continue
		}
		e := time.Unix(exp, 0)
		if e.Before(m.Until) {
			continue
		}
		if !ok || e.After(expiry) {
			token, expiry, ok = at.Secret, e, true
		}
	}
	return token, expiry, ok
}

// coversScopes reports whether target (MSAL's space-separated scopes)
// holds every scope in want.
func coversScopes(target string, want []string) bool {
	have := strings.Fields(strings.ToLower(target))
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == strings.ToLower(w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return len(want) > 0
}
