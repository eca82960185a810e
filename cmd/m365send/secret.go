package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/passwordprompt"
	"github.com/m365send/m365send/internal/session"
)

func (a *app) newSecretCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Store or delete a profile's client secret in the OS keyring",
		Long:  helptext.Secret,
		Args:  cobra.NoArgs,
	}
	set := &cobra.Command{
		Use:   "set PROFILE",
		Short: "Read a client secret (without echo) and store it in the OS keyring",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := a.sessionOptions()
			opts.Profile = args[0]
			p, err := session.StoreSecret(cmd.Context(), opts, func(name string) (string, error) {
				return passwordprompt.ReadSecret(a.io.In, a.io.Err, "Client secret for profile "+name+": ")
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.Err, "m365send: stored the client secret of profile %s in the OS keyring\n", p.Name)
			if !p.ClientSecretKeyring {
				a.reporter().warn(a.io.Err, fmt.Sprintf("profile %s does not read its secret from the keyring yet: set client_secret_keyring = true in it (and remove its other client credential)", p.Name))
			}
			return nil
		},
	}
	del := &cobra.Command{
		Use:   "delete PROFILE",
		Short: "Remove a profile's client secret from the OS keyring",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := a.sessionOptions()
			opts.Profile = args[0]
			return session.DeleteSecret(cmd.Context(), opts)
		},
	}
	cmd.AddCommand(set, del)
	return cmd
}
