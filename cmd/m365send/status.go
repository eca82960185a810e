package main

import (
	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/status"
)

func (a *app) newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json] [--profile P]",
		Short: "Show each profile's sign-in and token health, with warnings before trouble",
		Long: `Status lists every profile of the configuration file (or only --profile):
its flow, account, where its credential and its tokens are kept, when the
cached access token expires, when the refresh token was last used (Entra ID
ends a sign-in whose refresh token goes unused for 90 days), when the
person signed in, when a send last succeeded, and when a certificate
expires. It warns before trouble: a refresh token unused for 60 days, a
certificate that expires within 30 days, and a sign-in required now.
Status asks Entra ID nothing and sends nothing.

Its exit status is the worst profile's, for monitoring:
  0  every profile is fine
  1  a cached access token has expired (nothing to do: the next use
     gets a new one)
  2  act soon: a refresh token is near its 90 days without use, or a
     certificate near its expiry
  3  act now: a person must sign in (never signed in, revoked, ended),
     or a profile cannot get tokens (it does not load, its certificate
     has expired)
--json prints the same as one JSON object.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := status.Check(status.Options{
				ConfigFile: a.configFile, Profile: a.profile, Env: a.io.Env, Environ: a.io.Environ,
			})
			if err != nil {
				return err
			}
			if asJSON {
				err = writeJSON(a.io.Out, r)
			} else {
				err = status.Write(a.io.Out, r)
			}
			a.exitCode = r.Code
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	return cmd
}
