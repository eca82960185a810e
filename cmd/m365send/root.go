package main

import (
	"context"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
)

// IO is everything a command touches outside itself, so tests can drive
// commands in-process.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	Env func(string) string
}

// run executes the command line args (args[0] is the program name) and
// returns the exit code. Invoked as "sendmail", it behaves as
// `m365send sendmail`.
func run(ctx context.Context, args []string, stdio IO) int {
	if filepath.Base(args[0]) == "sendmail" {
		return runSendmail(ctx, args[1:], stdio)
	}
	app := &app{io: stdio}
	root := app.newRootCmd()
	root.SetArgs(args[1:])
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	if err := root.ExecuteContext(ctx); err != nil {
		return app.fail(err)
	}
	return app.exitCode
}

// app holds what the commands share: streams, global flags, the exit code.
type app struct {
	io         IO
	configFile string
	profile    string
	exitCode   int
}

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "m365send",
		Short:         "Send mail through Microsoft 365 with OAuth2 (XOAUTH2)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "config file (default $M365SEND_CONFIG, then $XDG_CONFIG_HOME/m365send/config.toml)")
	root.PersistentFlags().StringVar(&a.profile, "profile", "", "profile name (default $M365SEND_PROFILE, then the file's default_profile)")
	root.AddCommand(
		a.newSendCmd(),
		a.newSendmailCmd(),
		a.newLoginCmd(),
		a.newLogoutCmd(),
		a.newTokenCmd(),
		a.newDoctorCmd(),
		a.newSandboxCmd(),
		a.newVersionCmd(),
	)
	return root
}

// fail prints err as one line saying what happened and, where known, one
// line saying what to do, and returns the sysexits code for it.
func (a *app) fail(err error) int {
	printError(a.io.Err, "m365send", err)
	return exitCodeFor(err)
}
