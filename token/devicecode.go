package token

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/entraanswer"
	"github.com/m365send/m365send/internal/signin"
)

// publicClient builds the MSAL public client on first use. Called with
// s.sem held.
func (s *Source) publicClient() (*public.Client, error) {
	if s.pub != nil {
		return s.pub, nil
	}
	c, err := public.New(s.cfg.ClientID,
		public.WithAuthority(s.authority),
		public.WithCache(s.store),
		public.WithHTTPClient(s.cfg.HTTPClient),
		public.WithInstanceDiscovery(s.instanceDiscovery()),
	)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	s.pub = &c
	return s.pub, nil
}

// silent gets a delegated token for the signed-in account without
// prompting: a cached access token (cached true), or one redeemed with the
// refresh token (which Entra ID rotates; the new one replaces the old in
// the cache).
func (s *Source) silent(ctx context.Context) (tok *oauth2.Token, cached bool, err error) {
	c, err := s.publicClient()
	if err != nil {
		return nil, false, err
	}
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("token: read cached accounts: %w", err)
	}
	if len(accounts) == 0 {
		return nil, false, ErrLoginRequired
	}
	res, err := c.AcquireTokenSilent(ctx, s.scopes, public.WithSilentAccount(accounts[0]))
	if err != nil {
		werr := wrapErr("token: silent sign-in", err)
		var te *Error
		if errors.As(werr, &te) {
			if needsLogin(te) {
				return nil, false, loginRequired(werr)
			}
			return nil, false, werr
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, false, werr
		}
		// MSAL found no refresh token for the account.
		return nil, false, loginRequired(werr)
	}
	return bearer(res.AccessToken, res.ExpiresOn),
		res.Metadata.TokenSource == public.TokenSourceCache, nil
}

// SignIn is a way Login signs a person in.
type SignIn string

const (
	// SignInDeviceCode is the device-code flow (Config.DeviceCodePrompt
	// shows the code).
	SignInDeviceCode SignIn = "device_code"
	// SignInBrowser is the authorization-code flow with PKCE and a
	// loopback redirect: Config.OpenBrowser opens the sign-in page and
	// Entra ID sends the browser back to a listener on localhost.
	SignInBrowser SignIn = "browser"
	// SignInPasteBack is the authorization-code flow with PKCE for a
	// remote shell: Config.PasteBack shows the sign-in address and reads
	// back the address the browser ended on.
	SignInPasteBack SignIn = "paste_back"
)

// checkSignIn says what Login is missing for the chosen sign-in.
func (c *Config) checkSignIn() error {
	switch c.SignIn {
	case "", SignInDeviceCode:
		if c.DeviceCodePrompt == nil {
			return errors.New("token: login needs a DeviceCodePrompt to show the code")
		}
	case SignInBrowser:
		if c.OpenBrowser == nil {
			return errors.New("token: browser sign-in needs OpenBrowser")
		}
	case SignInPasteBack:
		if c.PasteBack == nil {
			return errors.New("token: paste-back sign-in needs PasteBack")
		}
	default:
		return fmt.Errorf("token: unknown sign-in %q", c.SignIn)
	}
	return nil
}

// login signs the person in (internal/signin runs the flows). Called with
// the file lock held, so another process waiting for a token gets this
// sign-in's result.
func (s *Source) login(ctx context.Context) (*oauth2.Token, error) {
	c, err := s.publicClient()
	if err != nil {
		return nil, err
	}
	var res public.AuthResult
	switch s.cfg.SignIn {
	case SignInBrowser:
		res, err = signin.Interactive(ctx, c, s.scopes, s.cfg.OpenBrowser)
		err = wrapErr("token: browser sign-in", err)
	case SignInPasteBack:
		res, err = signin.Paste(ctx, c, s.cfg.ClientID, s.scopes, s.cfg.PasteBack)
		var re *signin.RedirectError
		if errors.As(err, &re) {
			err = redirectErr(re)
		}
		err = wrapErr("token: paste-back sign-in", err)
	default:
		res, err = s.deviceCode(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	// One profile, one person: forget accounts from earlier sign-ins.
	if accounts, err := c.Accounts(ctx); err == nil {
		for _, a := range accounts {
			if !strings.EqualFold(a.HomeAccountID, res.Account.HomeAccountID) {
				if err := c.RemoveAccount(ctx, a); err != nil {
					s.log.Warn("could not forget an earlier sign-in", "error", err.Error())
				}
			}
		}
	}
	s.log.Info("signed in", "account", res.Account.PreferredUsername)
	s.account = res.Account.PreferredUsername
	return bearer(res.AccessToken, res.ExpiresOn), nil
}

// deviceCode runs the device-code flow.
func (s *Source) deviceCode(ctx context.Context, c *public.Client) (public.AuthResult, error) {
	dc, err := c.AcquireTokenByDeviceCode(ctx, s.scopes)
	if err != nil {
		return public.AuthResult{}, wrapErr("token: start device code sign-in", err)
	}
	r := dc.Result
	if err := s.cfg.DeviceCodePrompt(ctx, DeviceCode{
		UserCode:        r.UserCode,
		VerificationURL: r.VerificationURL,
		Message:         r.Message,
		ExpiresAt:       r.ExpiresOn,
	}); err != nil {
		return public.AuthResult{}, fmt.Errorf("token: show device code: %w", err)
	}
	res, err := dc.AuthenticationResult(ctx)
	return res, wrapErr("token: device code sign-in", err)
}

// redirectErr is the *Error for an error Entra ID sent to the redirect
// URI instead of a code.
func redirectErr(re *signin.RedirectError) *Error {
	return &Error{OAuthError: re.OAuthError, Description: oneLine(re.Description), Code: entraanswer.Code(re.Description), Err: re}
}
