package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("logout: not implemented yet")
		},
	}
}
