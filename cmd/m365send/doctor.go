package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func (a *app) newDoctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "TODO",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("doctor: not implemented yet")
		},
	}
}
