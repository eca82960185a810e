package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/session"
)

func (a *app) newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout [--profile P]",
		Short: "Forget the profile's cached tokens",
		Long:  helptext.Logout,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, warning, err := session.Logout(cmd.Context(), a.sessionOptions())
			if warning != "" {
				a.reporter().warn(a.io.Err, warning)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Err, "Removed the cached tokens of profile %s.\n", p.Name)
			return nil
		},
	}
}
