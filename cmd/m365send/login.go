package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newLoginCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "login",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("login: not implemented yet")
		},
	}
}
