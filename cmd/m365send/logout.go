package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/token"
)

func (a *app) newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--profile P]",
		Short: "Forget the profile's cached tokens",
		Long:  helptext.Logout,
		Args:  cobra.NoArgs,
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
