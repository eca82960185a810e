package token

import (
	"errors"
	"time"
)

// EventKind says what happened to a person's sign-in.
type EventKind string

const (
	// EventSignedIn is a completed Login.
	EventSignedIn EventKind = "signed_in"
	// EventRefreshed is a refresh token redeemed (and rotated) for a new
	// access token.
	EventRefreshed EventKind = "refreshed"
	// EventLoginRequired is a token request that found that a person must
	// sign in (again): Err says why.
	EventLoginRequired EventKind = "login_required"
)

// Event is what Config.OnEvent is told after the fact: never a token.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Expiry is the new access token's expiry (EventSignedIn,
	// EventRefreshed).
	Expiry time.Time
	// Account is the signed-in account (EventSignedIn), if known.
	Account string
	// Err is why a sign-in is required (EventLoginRequired).
	Err error
}

// notify tells Config.OnEvent about a device-code profile's sign-in:
// what tok (from Entra ID, not the cache) or err say.
func (s *Source) notify(kind EventKind, expiry time.Time, account string, err error) {
	if s.cfg.OnEvent == nil || s.cfg.Flow != FlowDeviceCode {
		return
	}
	if kind == "" {
		if !errors.Is(err, ErrLoginRequired) {
			return
		}
		kind = EventLoginRequired
	}
	s.cfg.OnEvent(Event{Kind: kind, Expiry: expiry, Account: account, Err: err})
}
