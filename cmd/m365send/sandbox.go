package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newSandboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sandbox",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("sandbox: not implemented yet")
		},
	}
}
