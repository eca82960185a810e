package token

import (
	"context"
	"errors"

	"github.com/m365send/m365send/internal/aadstshints"
	"github.com/m365send/m365send/internal/failure"
)

// AADSTSHint is one row of the table of AADSTS codes this package knows:
// what the code means, what kind of failure it is and what to do. The
// command line's troubleshooting docs and its tests are built from it.
type AADSTSHint = aadstshints.Hint

// AADSTSHints returns the table of AADSTS codes (see docs/microsoft.md),
// one row per code. Each call returns a new slice the caller may change.
func AADSTSHints() []AADSTSHint { return aadstshints.All() }

// Kind classifies the failure from its AADSTS code, else its OAuth error:
// failure.SignIn when it wraps ErrLoginRequired, failure.Temporary when it
// is Temporary or was interrupted, failure.Unavailable for a refusal this
// package does not know.
func (e *Error) Kind() failure.Kind {
	if errors.Is(e.Err, ErrLoginRequired) {
		return failure.SignIn
	}
	if e.Temporary {
		return failure.Temporary
	}
	if h := aadstshints.For(e.Code); h.Code != 0 {
		return h.Kind
	}
	switch e.OAuthError {
	case "invalid_client", "unauthorized_client", "invalid_scope", "invalid_request", "unsupported_grant_type":
		return failure.Config
	case "invalid_grant", "access_denied", "consent_required", "interaction_required", "authorization_declined", "expired_token":
		return failure.Permission
	case "temporarily_unavailable", "server_error", "slow_down":
		return failure.Temporary
	}
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return failure.Temporary
	}
	return failure.Unavailable
}

// Hint says what to do: Advice if set, else the AADSTS table's hint for
// Code, else one for the OAuth error or kind, else "".
func (e *Error) Hint() string {
	if e.Advice != "" {
		return e.Advice
	}
	if h := aadstshints.For(e.Code).Hint; h != "" {
		return h
	}
	if h := oauthHint(e.OAuthError, e.Temporary); h != "" {
		return h
	}
	if errors.Is(e.Err, ErrLoginRequired) {
		return signInHint
	}
	return ""
}

// signInHint is the hint of a profile that needs a person to sign in.
const signInHint = "a person must sign in again for this profile"

// oauthHint covers failures that have no AADSTS hint of their own.
func oauthHint(oauthErr string, temporary bool) string {
	switch oauthErr {
	case "authorization_declined":
		return "the sign-in was declined: start the sign-in again and approve it"
	case "expired_token":
		return "the code expired before the sign-in was completed: start the sign-in again and enter the code within 15 minutes"
	case "bad_verification_code":
		return "Entra ID did not recognise the device code: start the sign-in again"
	}
	if temporary {
		return "Entra ID is busy or unavailable: try again later"
	}
	return ""
}
