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
			opts := a.sessionOptions()
			opts.NoSender = true
			s, err := session.Open(cmd.Context(), opts)
			if err != nil {
				return err
			}
			tok, err := s.Tokens.TokenContext(cmd.Context())
			if err != nil {
				return s.Explain(err)
			}
			_, err = fmt.Fprintln(a.io.Out, tok.AccessToken)
			return err
		},
	}
}
