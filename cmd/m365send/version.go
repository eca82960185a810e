package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("version: not implemented yet")
		},
	}
}
