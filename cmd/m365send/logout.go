package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/token"
)

func (a *app) newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--profile P]",
		Short: "Forget the profile's cached tokens",
		Long: `Logout removes every cached token of the profile (access and refresh
tokens, and the signed-in account). A device-code profile then needs
"m365send login" again; a client-credentials profile simply fetches a new
token next time. Sign-ins are not revoked at Entra ID; an administrator
does that with "Revoke sessions" on the user.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Forgetting tokens needs only the profile's cache file: no
			// credential (a broken secret command must not stand in the
			// way), no CA pool, no token source.
			p, err := session.LoadProfile(a.sessionOptions())
			if err != nil {
				return err
			}
			k, warning := p.TokenKeyring()
			if warning != "" {
				fmt.Fprintf(a.io.Err, "m365send: warning: %s\n", warning)
			}
			if err := token.ForgetIn(cmd.Context(), p.CacheFile(), k, keyring.TokenAccount(p.Name)); err != nil {
				return err
			}
			// A cache not yet moved from ~/.cache would come back.
			if err := token.Forget(cmd.Context(), p.LegacyCacheFile()); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Err, "Removed the cached tokens of profile %s.\n", p.Name)
			return nil
		},
	}
}
