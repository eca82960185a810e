package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/m365send/m365send/internal/aadstshints"
	"github.com/m365send/m365send/internal/entraanswer"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/tokencache"
)

// ErrInsecureCache means the token cache file or its folder can be read or
// changed by other users; it is refused rather than used.
var ErrInsecureCache = tokencache.ErrInsecureCache

// CacheError is a token cache that cannot be used as it is: a cache file
// or folder other users can read or write (Err then wraps
// ErrInsecureCache), or a folder that cannot be created, examined or
// locked. It is a configuration problem (Kind is failure.Config); Hint
// says what to do.
type CacheError = tokencache.CacheError

var (
	_ failure.Error = (*CacheError)(nil)
	_ failure.Error = (*Error)(nil)
)

// Error implements error: one line with what happened, the AADSTS code
// where there is one, and never a secret or token.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("entra id: ")
	switch {
	case e.Description != "":
		if e.Code != 0 && !strings.Contains(e.Description, "AADSTS") {
			fmt.Fprintf(&b, "AADSTS%d: ", e.Code)
		}
		b.WriteString(e.Description)
		if e.OAuthError != "" {
			fmt.Fprintf(&b, " (%s)", e.OAuthError)
		}
	case e.OAuthError != "":
		b.WriteString(e.OAuthError)
		if e.Code != 0 {
			fmt.Fprintf(&b, " AADSTS%d", e.Code)
		}
	case e.Err != nil:
		b.WriteString(oneLine(e.Err.Error()))
	default:
		b.WriteString("token request failed")
	}
	return b.String()
}

// wrapErr turns an error from MSAL into an *Error where it came from Entra
// ID or the network; context errors and local failures pass through
// wrapped with what.
func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var te *Error
	if errors.As(err, &te) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	// A local file failure (the token cache, a certificate) is not a
	// network one, though *fs.PathError has a Timeout method.
	var cacheErr *CacheError
	var lockErr *LockError
	var pathErr *fs.PathError
	if errors.As(err, &cacheErr) || errors.As(err, &lockErr) || errors.As(err, &pathErr) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		return fromResponse(ce.Resp, err)
	}
	var je msalerrors.InvalidJsonErr
	if errors.As(err, &je) {
		// MSAL's text quotes the raw answer, which may hold a token: keep
		// it out of the chain.
		return &Error{
			Description: "Entra ID sent an answer that could not be read",
			Temporary:   true,
			Err:         errors.New("invalid JSON in the token endpoint's answer"),
		}
	}
	var ne net.Error
	var ue interface{ Timeout() bool }
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server response error") {
		return &Error{
			Description: "cannot reach Entra ID: " + networkReason(err),
			Advice:      "check network access to the authority host (and HTTPS_PROXY/NO_PROXY), then try again",
			Temporary:   true,
			Err:         err,
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fromResponse builds an *Error from an HTTP error answer.
func fromResponse(resp *http.Response, err error) *Error {
	a := entraanswer.Read(resp, err)
	return &Error{OAuthError: a.OAuthError, Description: a.Description, Code: a.Code,
		Temporary: a.Temporary, RetryAfter: a.RetryAfter, Err: err}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// networkReason gives the innermost network error without URLs or bodies.
func networkReason(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oneLine(oe.Error())
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	// The remaining text comes from net/http and names the URL only.
	return oneLine(err.Error())
}

// loginRequired wraps err so that errors.Is(err, ErrLoginRequired) holds
// while the *Error (with its AADSTS code and hint) stays reachable.
func loginRequired(err error) error {
	var te *Error
	if errors.As(err, &te) {
		cp := *te
		cp.Err = fmt.Errorf("%w: %w", ErrLoginRequired, te.Err)
		return &cp
	}
	return fmt.Errorf("%w: %w", ErrLoginRequired, err)
}

// needsLogin reports whether an Entra ID error from a silent (refresh
// token) request can only be cured by signing in again.
func needsLogin(e *Error) bool {
	if h := aadstshints.For(e.Code); h.Code != 0 {
		// The table knows: a Conditional Access block or a disabled app
		// is not cured by signing in again, whatever the OAuth error.
		return h.SignIn
	}
	return e.OAuthError == "invalid_grant" || e.OAuthError == "interaction_required"
}
