package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/session"
)

// IO is everything a command touches outside itself, so tests can drive
// commands in-process.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	Env func(string) string
	// Environ is the whole environment ("KEY=value", os.Environ() in
	// main), so config can refuse unknown M365SEND_* variables; nil skips
	// that check. Values are read through Env only.
	Environ []string
}

// run executes the command line args (args[0] is the program name) and
// returns the exit code. Invoked as "sendmail", it behaves as
// `m365send sendmail`.
//
// A panic in any command is reported as one line, "m365send: internal
// error: ...", with exit status 70 (EX_SOFTWARE) rather than Go's crash
// and status 2.
func run(ctx context.Context, args []string, stdio IO) (code int) {
	defer func() {
		if v := recover(); v != nil {
			prog := "m365send"
			if len(args) > 0 && filepath.Base(args[0]) == "sendmail" {
				prog = "sendmail"
			}
			if stdio.Err != nil {
				fmt.Fprintf(stdio.Err, "%s: internal error: %s\n", prog, safetext.OneLine(fmt.Sprint(v)))
			}
			code = exitSoftware
		}
	}()
	if filepath.Base(args[0]) == "sendmail" {
		return runSendmail(ctx, args[1:], stdio)
	}
	if stdio.Env == nil {
		stdio.Env = func(string) string { return "" }
	}
	app := &app{io: stdio}
	root := app.newRootCmd()
	root.SetArgs(args[1:])
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	if err := root.ExecuteContext(ctx); err != nil {
		if !app.started {
			// Cobra failed before any command ran: an unknown command or
			// flag, or the wrong number of arguments.
			err = &usageError{msg: err.Error(), hint: "see `m365send help` or `m365send COMMAND --help`"}
		}
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
	// started is set once cobra has parsed the command line and validated
	// the arguments, so later errors are not usage errors.
	started bool
}

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "m365send",
		Short:         "Send mail through Microsoft 365 with OAuth2 (XOAUTH2)",
		Long:          helptext.Root,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			a.started = true
		},
		Example: helptext.RootExample,
	}
	// --version prints what `m365send version` prints. Declared here so
	// that cobra adds no -v shorthand (-v is --verbose in the commands).
	root.Version = versionString()
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().Bool("version", false, "print the version and the commit it was built from")
	root.PersistentFlags().StringVar(&a.configFile, "config", "", "configuration file (default $M365SEND_CONFIG, then $XDG_CONFIG_HOME/m365send/config.toml)")
	root.PersistentFlags().StringVar(&a.profile, "profile", "", "profile name (default $M365SEND_PROFILE, then the file's default_profile, then \"default\")")
	_ = root.RegisterFlagCompletionFunc("profile", a.completeProfiles)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{msg: err.Error(), hint: "see `" + cmd.CommandPath() + " --help`"}
	})
	root.AddCommand(
		a.newSendCmd(),
		a.newSendmailCmd(),
		a.newLoginCmd(),
		a.newLogoutCmd(),
		a.newStatusCmd(),
		a.newTokenCmd(),
		a.newDoctorCmd(),
		a.newSandboxCmd(),
		a.newQueueCmd(),
		a.newRelayCmd(),
		a.newVersionCmd(),
		a.newInitCmd(),
		a.newSecretCmd(),
	)
	return root
}

// completeProfiles completes --profile with the names of the profiles in
// the configuration file the command line (--config) or the environment
// selects; nothing when it cannot be read.
func (a *app) completeProfiles(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	return session.ProfileNames(a.io.sessionOptions(session.Options{ConfigFile: a.configFile}), prefix), cobra.ShellCompDirectiveNoFileComp
}

// fail prints err as one line saying what happened and, where known, one
// line saying what to do, and returns the sysexits code for it.
func (a *app) fail(err error) int {
	a.reporter().print(a.io.Err, err)
	return exitCodeFor(err)
}

// reporter tells of failures and warnings for m365send's commands.
func (a *app) reporter() reporter {
	return reporter{prog: "m365send", profile: a.profile}
}

// sessionOptions returns the options every command starts a session with.
func (a *app) sessionOptions() session.Options {
	return a.io.sessionOptions(session.Options{ConfigFile: a.configFile, Profile: a.profile})
}

// sessionOptions returns o with the environment and standard error of stdio.
func (stdio IO) sessionOptions(o session.Options) session.Options {
	o.Getenv, o.Environ, o.Stderr = stdio.Env, stdio.Environ, stdio.Err
	return o
}
