// Package signin runs the ways a person signs in to Microsoft Entra ID with
// MSAL Go's public client, and chooses the one a terminal can use:
//
//   - Browser: the authorization-code flow with PKCE and a loopback
//     redirect (MSAL's interactive flow): a browser on this machine opens
//     the sign-in page and Entra ID sends it back to a listener on
//     127.0.0.1.
//   - PasteBack: the same flow for a remote shell: the person opens the
//     sign-in address on any machine and pastes the address the browser
//     ends on (http://localhost/?code=...) back; the code is redeemed here
//     with the PKCE code verifier.
//   - DeviceCode: the device-code flow (a code typed at a web page).
//
// Which Entra ID settings each needs is in docs/tenant-setup.md; why the
// browser comes first (Conditional Access often blocks device code) in
// docs/microsoft.md.
package signin

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/m365send/m365send/internal/failure"
)

// Method is a way to sign a person in.
type Method string

const (
	// Browser is the authorization-code flow with PKCE and a loopback
	// redirect, in a browser this machine opens.
	Browser Method = "browser"
	// PasteBack is the authorization-code flow with PKCE where the person
	// signs in anywhere and pastes the final address back.
	PasteBack Method = "paste_back"
	// DeviceCode is the device-code flow.
	DeviceCode Method = "device_code"
)

// PasteBackRedirectURI is the redirect URI of a paste-back sign-in. Entra
// ID accepts it for a public client whose registration lists http://localhost
// under "Mobile and desktop applications" (the same entry the browser
// sign-in's http://localhost:PORT matches: the port of a loopback redirect
// URI is ignored). Nothing listens there: the browser shows an error page
// whose address holds the code.
const PasteBackRedirectURI = "http://localhost"

// defaultScopes are the OpenID scopes MSAL adds to every user sign-in;
// offline_access is the one that brings a refresh token.
var defaultScopes = []string{"openid", "offline_access", "profile"}

// Opener opens url in a browser and returns without waiting for the
// sign-in. If the browser fails after Opener returned (its command exits
// with an error), it calls failed with why, which ends the sign-in.
type Opener func(url string, failed func(error)) error

// Interactive signs a person in with MSAL's interactive flow (auth code,
// PKCE S256, a loopback listener on localhost), opening the sign-in page
// with open. It waits until the browser comes back, open reports a
// failure, or ctx ends.
func Interactive(ctx context.Context, c *public.Client, scopes []string, open Opener) (public.AuthResult, error) {
	ctx, stop := context.WithTimeoutCause(ctx, Timeout, failure.New(failure.SignIn,
		"the browser did not come back from the sign-in within "+Timeout.String(),
		"run login again (with --no-browser or --device-code if no browser opens here)"))
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res, err := c.AcquireTokenInteractive(ctx, scopes, public.WithOpenURL(func(u string) error {
		return open(u, func(err error) { cancel(err) })
	}))
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil && cause != nil && cause != ctx.Err() {
			return public.AuthResult{}, cause
		}
		return public.AuthResult{}, err
	}
	return res, nil
}

// Asker shows the sign-in address to the person and returns the address
// the browser ended on, as they pasted it.
type Asker func(ctx context.Context, signInURL string) (pasted string, err error)

// Paste signs a person in by paste-back: it builds the authorize address
// (with state, a PKCE S256 challenge and PasteBackRedirectURI), asks the
// person through ask, checks the pasted address (its state, an error Entra
// ID put there) and redeems the code with the code verifier.
func Paste(ctx context.Context, c *public.Client, clientID string, scopes []string, ask Asker) (public.AuthResult, error) {
	verifier, challenge, err := NewPKCE()
	if err != nil {
		return public.AuthResult{}, err
	}
	state, err := randomToken(16)
	if err != nil {
		return public.AuthResult{}, err
	}
	all := append(append([]string{}, scopes...), defaultScopes...)
	base, err := c.AuthCodeURL(ctx, clientID, PasteBackRedirectURI, all)
	if err != nil {
		return public.AuthResult{}, fmt.Errorf("build the sign-in address: %w", err)
	}
	authURL, err := withPKCE(base, state, challenge)
	if err != nil {
		return public.AuthResult{}, err
	}
	pasted, err := ask(ctx, authURL)
	if err != nil {
		return public.AuthResult{}, err
	}
	code, err := CodeFromRedirect(pasted, state)
	if err != nil {
		return public.AuthResult{}, err
	}
	return c.AcquireTokenByAuthCode(ctx, code, PasteBackRedirectURI, scopes, public.WithChallenge(verifier))
}

// withPKCE adds state, the S256 code challenge and prompt=select_account
// to an authorize address built by MSAL (whose AuthCodeURL takes neither).
func withPKCE(authURL, state, challenge string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("build the sign-in address: %w", err)
	}
	q := u.Query()
	q.Set("state", state)
	q.Set("code_challenge", challenge)
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "query")
	q.Set("prompt", "select_account")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// NewPKCE returns a PKCE code verifier (32 random bytes, base64url) and
// its S256 challenge (RFC 7636).
func NewPKCE() (verifier, challenge string, err error) {
	verifier, err = randomToken(32)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ErrNotRedirect is a pasted text that is not the address the browser was
// sent back to (a usage failure).
var ErrNotRedirect = failure.New(failure.Usage, "the pasted text is not the address the browser ended on",
	"paste the whole address from the browser's address bar (it starts http://localhost/?code=), then run login again")

// errOtherState is a pasted address from another sign-in.
var errOtherState = failure.New(failure.Usage, "the pasted address belongs to another sign-in (its state does not match)",
	"paste the address this sign-in's browser ended on, then run login again")

// CodeFromRedirect returns the authorization code in the address the
// browser was sent back to (query or fragment), after checking that its
// state is want. An error Entra ID sent back instead (error,
// error_description) is returned as an error; the code itself never
// appears in one.
func CodeFromRedirect(pasted, want string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(pasted))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", ErrNotRedirect
	}
	q := u.Query()
	if q.Get("code") == "" && q.Get("error") == "" && u.Fragment != "" {
		if fq, ferr := url.ParseQuery(u.Fragment); ferr == nil {
			q = fq
		}
	}
	if e := q.Get("error"); e != "" {
		desc := q.Get("error_description")
		if desc == "" {
			desc = e
		}
		return "", &RedirectError{OAuthError: e, Description: desc}
	}
	if q.Get("code") == "" {
		return "", ErrNotRedirect
	}
	if q.Get("state") != want {
		return "", errOtherState
	}
	return q.Get("code"), nil
}

// RedirectError is an error Entra ID sent back to the redirect URI
// instead of a code (a declined consent, a blocked sign-in).
type RedirectError struct {
	// OAuthError is the OAuth error field, such as access_denied.
	OAuthError string
	// Description is Entra ID's error_description (AADSTS code first).
	Description string
}

func (e *RedirectError) Error() string {
	return "Entra ID refused the sign-in: " + e.Description
}

// Timeout bounds a browser sign-in: past it, nobody is coming back.
const Timeout = 10 * time.Minute

// AskOn returns an Asker that shows the sign-in address on out and reads
// the pasted address, one line, from in. An empty answer or the end of in
// is a usage failure.
func AskOn(in io.Reader, out io.Writer) Asker {
	return func(ctx context.Context, signInURL string) (string, error) {
		fmt.Fprintf(out, "Open this address in a browser on any machine and sign in:\n\n  %s\n\n", signInURL)
		fmt.Fprintln(out, "The browser then ends on an address starting http://localhost/ that does not load.")
		fmt.Fprint(out, "Paste that whole address here and press Enter: ")
		type answer struct {
			line string
			err  error
		}
		ch := make(chan answer, 1)
		go func() {
			line, err := bufio.NewReader(in).ReadString('\n')
			ch <- answer{line, err}
		}()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case a := <-ch:
			fmt.Fprintln(out)
			if strings.TrimSpace(a.line) == "" {
				if a.err != nil && !errors.Is(a.err, io.EOF) {
					return "", fmt.Errorf("read the pasted address: %w", a.err)
				}
				return "", ErrNotRedirect
			}
			return a.line, nil
		}
	}
}
