package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/session"
)

func (a *app) newTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "token [--profile P]",
		Short: "Print a valid access token for SMTP (for msmtp, curl)",
		Long: `Token prints a valid access token for the profile's Exchange Online
resource, and a newline, on standard output and nothing else, for programs
that do the SMTP or IMAP exchange themselves. The token comes from the
cache while at least 10 minutes of it remain, else from Entra ID.

The token is a credential: do not log it.`,
		Example: `  # ~/.msmtprc
  account m365
  host smtp.office365.com
  port 587
  tls on
  auth xoauth2
  user alerts@contoso.com
  from alerts@contoso.com
  passwordeval "m365send token --profile alerts"

  curl --oauth2-bearer "$(m365send token)" ...`,
		Args: cobra.NoArgs,
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
