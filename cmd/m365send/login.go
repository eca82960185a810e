package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/token"
)

const loginLong = `Login signs a person in with the device-code flow, for a profile with
flow = "device_code".

It prints a web address and a code on standard error: open the address on
any device (a phone will do), enter the code, and sign in with the account
that sends the mail, MFA included. m365send waits, then caches the account
and its refresh token in the profile's cache file (mode 0600), so later
sends, tokens and doctor runs need no sign-in until Entra ID ends the
session (90 days without use, a password reset, or an admin's revocation).

Profiles with flow = "client_credentials" need no login.`

func (a *app) newLoginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "login [--profile P]",
		Short: "Sign in with a device code and cache the refresh token",
		Long:  loginLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.login(cmd.Context())
		},
	}
}

func (a *app) login(ctx context.Context) error {
	opts := a.sessionOptions()
	// A person's sign-in needs no client credential.
	opts.NoCredential = true
	opts.DeviceCodePrompt = func(ctx context.Context, dc token.DeviceCode) error {
		msg := dc.Message
		if msg == "" {
			msg = fmt.Sprintf("To sign in, open %s in a web browser and enter the code %s.", dc.VerificationURL, dc.UserCode)
		}
		fmt.Fprintln(a.io.Err, msg)
		if !dc.ExpiresAt.IsZero() {
			fmt.Fprintf(a.io.Err, "Waiting for the sign-in (the code expires at %s)...\n", dc.ExpiresAt.Local().Format(time.Kitchen))
		}
		return nil
	}
	s, err := session.Open(ctx, opts)
	if err != nil {
		return err
	}
	if s.Profile.Flow != config.FlowDeviceCode {
		return &usageError{msg: fmt.Sprintf("profile %q uses %s: there is nobody to sign in", s.Profile.Name, s.Profile.Flow),
			hint: "login is for flow = \"device_code\" profiles; check this one with `m365send doctor`"}
	}
	cacheFile := s.Profile.CacheFile()
	if cacheFile == "" {
		// A sign-in kept in memory ends with this process: refuse before
		// the person goes through it for nothing.
		return &exitError{kind: failure.Config,
			msg:  fmt.Sprintf("profile %q has no token cache folder, so the sign-in would be lost when login ends", s.Profile.Name),
			hint: "set M365SEND_CACHE_DIR (or HOME/XDG_CACHE_HOME), or cache_dir in the profile"}
	}
	tok, err := s.Tokens.Login(ctx)
	if err != nil {
		return err
	}
	who := "the account"
	if c, err := token.ParseClaims(tok.AccessToken); err == nil && c.UPN != "" {
		who = c.UPN
	}
	fmt.Fprintf(a.io.Err, "Signed in as %s (profile %s). Tokens cached in %s.\n", who, s.Profile.Name, cacheFile)
	return nil
}
