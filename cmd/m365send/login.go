package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/internal/signin"
)

func (a *app) newLoginCmd() *cobra.Command {
	var deviceCode, noBrowser bool
	cmd := &cobra.Command{
		Use:   "login [--profile P] [--device-code | --no-browser]",
		Short: "Sign a person in (browser, paste-back or device code) and cache the refresh token",
		Long:  helptext.Login,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.login(cmd.Context(), signin.Request{
				DeviceCode: deviceCode, NoBrowser: noBrowser, Getenv: a.io.Env, GOOS: runtime.GOOS,
			})
		},
	}
	cmd.Flags().BoolVar(&deviceCode, "device-code", false, "sign in with a device code instead of a browser")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the sign-in address and read back the address the browser ends on (paste-back)")
	return cmd
}

func (a *app) login(ctx context.Context, req signin.Request) error {
	choice, err := signin.Choose(req)
	if err != nil {
		return &usageError{msg: err.Error(), hint: "see `m365send login --help`"}
	}
	opts := session.PersonSignIn(a.sessionOptions(), choice, a.io.In, a.io.Err)
	who, cacheFile, err := session.Login(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.Err, "Signed in as %s (profile %s). Tokens cached in %s.\n", who.Account, who.Profile, cacheFile)
	return nil
}
