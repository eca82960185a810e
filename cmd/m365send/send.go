package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newSendCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "send",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("send: not implemented yet")
		},
	}
}
