package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/passwordprompt"
	"github.com/m365send/m365send/internal/relayd"
	"github.com/m365send/m365send/relay"
)

func (a *app) newRelayCmd() *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Run the SMTP relay, check its configuration, hash its passwords",
		Long:  helptext.Relay,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !check {
				return relayd.Run(cmd.Context(), a.sessionOptions())
			}
			c, _, err := relayd.LoadConfig(a.sessionOptions().LoadOptions())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "relay configuration is valid: %d listener(s), %d user(s), %d network(s)\n",
				len(c.Listeners), len(c.Users), len(c.Networks))
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "check the configuration and exit")
	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Read a password and print its argon2id hash for a relay user's password_hash",
		Long:  helptext.RelayPasswd,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := passwordprompt.Read(a.io.In, a.io.Err)
			if err != nil {
				return err
			}
			h, err := relay.HashPassword(pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.io.Out, h)
			return err
		},
	}
	cmd.AddCommand(passwd)
	return cmd
}
