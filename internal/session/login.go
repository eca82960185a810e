package session

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/signin"
	"github.com/m365send/m365send/token"
)

// SignedIn says who signed in: the account ("the account" when its token
// does not name it) and the profile.
type SignedIn struct {
	Account string
	Profile string
}

// Login signs a person in with the device code of the device_code profile
// opts select (opts.DeviceCodePrompt shows it) and caches the sign-in; it
// returns who signed in and the cache file. A profile of another flow is
// a usage error, and one without a cache file a configuration error, both
// found before the person goes through the sign-in.
func Login(ctx context.Context, opts Options) (SignedIn, string, error) {
	s, err := Open(ctx, opts)
	if err != nil {
		return SignedIn{}, "", err
	}
	if s.Profile.Flow != config.FlowDeviceCode {
		return SignedIn{}, "", failure.New(failure.Usage, fmt.Sprintf("profile %q uses %s: there is nobody to sign in", s.Profile.Name, s.Profile.Flow),
			"login is for flow = \"device_code\" profiles; check this one with `m365send doctor`")
	}
	cacheFile := s.Profile.CacheFile()
	if cacheFile == "" {
		// A sign-in kept in memory ends with this process: refuse before
		// the person goes through it for nothing.
		return SignedIn{}, "", failure.New(failure.Config,
			fmt.Sprintf("profile %q has no token cache folder, so the sign-in would be lost when login ends", s.Profile.Name),
			"set M365SEND_CACHE_DIR (or HOME/XDG_STATE_HOME), or cache_dir in the profile")
	}
	tok, err := s.Tokens.Login(ctx)
	if err != nil {
		return SignedIn{}, "", err
	}
	who := SignedIn{Account: "the account", Profile: s.Profile.Name}
	if c, err := token.ParseClaims(tok.AccessToken); err == nil && c.UPN != "" {
		who.Account = c.UPN
	}
	return who, cacheFile, nil
}

// PersonSignIn returns opts set up for Login with the sign-in method of
// choice (signin.Choose), telling the person on w what to do: the device
// code and when it expires (and why a device code, when they did not ask
// for one), or the address of the sign-in page; with paste-back the
// address the browser ends on is read from in. A person's sign-in needs
// no client credential.
func PersonSignIn(opts Options, choice signin.Choice, in io.Reader, w io.Writer) Options {
	opts.NoCredential = true
	opts.SignIn = token.SignIn(choice.Method)
	opts.DeviceCodePrompt = func(ctx context.Context, dc token.DeviceCode) error {
		if choice.Why != "" {
			fmt.Fprintf(w, "Signing in with a device code: %s.\n", choice.Why)
		}
		msg := dc.Message
		if msg == "" {
			msg = fmt.Sprintf("To sign in, open %s in a web browser and enter the code %s.", dc.VerificationURL, dc.UserCode)
		}
		fmt.Fprintln(w, msg)
		if !dc.ExpiresAt.IsZero() {
			fmt.Fprintf(w, "Waiting for the sign-in (the code expires at %s)...\n", dc.ExpiresAt.Local().Format(time.Kitchen))
		}
		return nil
	}
	opts.OpenBrowser = func(u string, failed func(error)) error {
		fmt.Fprintf(w, "Opening the sign-in page in a browser; waiting for the sign-in...\nIf no browser opens, open this address on this machine:\n\n  %s\n\n", u)
		return choice.Open(u, failed)
	}
	opts.PasteBack = signin.AskOn(in, w)
	return opts
}
