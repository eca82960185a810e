package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "token",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("token: not implemented yet")
		},
	}
}
