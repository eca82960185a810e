package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/version"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(a.io.Out, versionString())
			return err
		},
	}
}

// versionString is what `m365send version` and --version print.
func versionString() string { return version.String() }
