package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/doctor"
	"github.com/m365send/m365send/internal/helptext"
)

func (a *app) newDoctorCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "doctor [--profile P]",
		Short: "Check config, token claims, DNS/TCP/TLS and AUTH; say what to fix",
		Long:  helptext.Doctor,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep := a.reporter()
			rep.doctor = true
			opts := a.sessionOptions()
			if verbose {
				opts.Trace = a.io.Err
			}
			r := doctor.Run(cmd.Context(), opts)
			a.exitCode = printDoctor(a.io.Out, rep, r)
			if verbose {
				return doctor.WriteSources(a.io.Out, r.Sources)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "trace the SMTP exchange on standard error (tokens redacted) and list where each value came from")
	return cmd
}

// printDoctor writes doctor's results (doctor.Write, with rep's hints)
// and returns the exit code of the first failure, 0 when none failed.
func printDoctor(w io.Writer, rep reporter, r *doctor.Report) int {
	if k, failed := doctor.Write(w, r, rep.hint); failed {
		return exitCodeOf(k)
	}
	return exitOK
}
