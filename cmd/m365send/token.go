package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/session"
)

func (a *app) newTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "token [--profile P]",
		Short:   "Print a valid access token for SMTP (for msmtp, curl)",
		Long:    helptext.Token,
		Example: helptext.TokenExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			tok, err := session.AccessToken(cmd.Context(), a.sessionOptions())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.io.Out, tok)
			return err
		},
	}
}
