package main

import (
	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/status"
)

func (a *app) newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json] [--profile P]",
		Short: "Show each profile's sign-in and token health, with warnings before trouble",
		Long:  helptext.Status,
		Args:  cobra.NoArgs,
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
