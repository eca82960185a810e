package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/sandbox"
)

// sandboxReady starts the line `m365send sandbox` prints once it is
// serving; the config file's path follows it.
const sandboxReady = sandbox.ReadyLine

func (a *app) newSandboxCmd() *cobra.Command {
	var demo bool
	var dir string
	cmd := &cobra.Command{
		Use:     "sandbox [--demo] [--dir DIR]",
		Short:   "Run a local fake Entra ID and Office 365 and send through them",
		Long:    helptext.Sandbox,
		Example: helptext.SandboxExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSandbox(cmd.Context(), dir, demo)
		},
	}
	cmd.Flags().BoolVar(&demo, "demo", false, "run one client-credentials send, one browser sign-in, a delegated send and a send through a relay, print what the server received, and exit")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the sandbox's config, CA, secret and token cache (default: a temporary folder, removed on exit)")
	return cmd
}

func (a *app) runSandbox(ctx context.Context, dir string, demo bool) error {
	tmpRoot := ""
	if a.io.Env != nil {
		tmpRoot = a.io.Env("TMPDIR")
	}
	return sandbox.Run(ctx, sandbox.RunOptions{Dir: dir, TempRoot: tmpRoot, Demo: demo, Out: a.io.Out, Session: a.sessionOptions()})
}
