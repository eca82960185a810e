// Package refresh is the fake Entra ID's (token/entratest) store of
// refresh tokens: issued per client, user and tenant, spent by rotation
// when redeemed, and revoked or expired by a test as a password reset or
// inactivity would.
package refresh

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// Token is what a refresh token was issued for.
type Token struct {
	ClientID, UPN, TenantID string
	Scopes                  []string
	Issued, Expires         time.Time
	revoked, inactive       bool
}

// Store holds refresh tokens by their secret. It is safe for concurrent
// use; the zero value is ready.
type Store struct {
	mu     sync.Mutex
	tokens map[string]*Token
}

// Issue stores a new refresh token for t and returns its secret.
func (s *Store) Issue(t Token) string {
	secret := ids.Random(64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]*Token{}
	}
	s.tokens[secret] = &t
	return secret
}

// Redeem spends the refresh token secret for clientID in tenant tid ("":
// the token's home tenant) at now, and returns what it was issued for, or
// the AADSTS code to refuse it with; issued is the refused token's issue
// time, when it is one the store knows. A refused token is not spent.
func (s *Store) Redeem(secret, clientID, tid string, now time.Time) (t Token, code int, issued time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.tokens[secret]
	if ok && (!strings.EqualFold(rt.ClientID, clientID) || tid != "" && !strings.EqualFold(rt.TenantID, tid)) {
		ok = false
	}
	switch {
	case !ok:
		return Token{}, 9002313, time.Time{}
	case rt.revoked:
		return Token{}, 50173, rt.Issued
	case rt.inactive || now.After(rt.Expires):
		return Token{}, 700082, rt.Issued
	}
	// Refresh tokens rotate: the presented one is spent.
	delete(s.tokens, secret)
	return *rt, 0, time.Time{}
}

// Live returns the secrets of upn's refresh tokens that can still be
// redeemed at now, sorted.
func (s *Store) Live(upn string, now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for secret, rt := range s.tokens {
		if strings.EqualFold(rt.UPN, upn) && !rt.revoked && !rt.inactive && now.Before(rt.Expires) {
			out = append(out, secret)
		}
	}
	slices.Sort(out)
	return out
}

// Revoke revokes every refresh token of upn.
func (s *Store) Revoke(upn string) {
	s.each(upn, func(rt *Token) { rt.revoked = true })
}

// Expire marks every refresh token of upn as expired by inactivity.
func (s *Store) Expire(upn string) {
	s.each(upn, func(rt *Token) { rt.inactive = true })
}

func (s *Store) each(upn string, f func(*Token)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.tokens {
		if strings.EqualFold(rt.UPN, upn) {
			f(rt)
		}
	}
}
