package sandbox

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/m365send/m365send/internal/session"
)

// RunOptions configures Run.
type RunOptions struct {
	// Dir is the folder for the sandbox's files (see CheckDir); "" makes
	// a temporary one in TempRoot (the system's when "") and removes it on
	// return.
	Dir, TempRoot string
	// Demo runs Demo and returns; else Run serves until ctx ends.
	Demo bool
	// Out receives the instructions and the messages received.
	Out io.Writer
	// Session is what Demo sends with (see Demo).
	Session session.Options
}

// ReadyLine starts the line Run prints once it is serving; the config
// file's path follows it.
const ReadyLine = "m365send sandbox: ready; config file: "

// Run is `m365send sandbox`: it starts the sandbox in opts.Dir and either
// runs the demo, or prints how to send through it and then every message
// the fake server receives until ctx ends (a normal stop).
func Run(ctx context.Context, opts RunOptions) (err error) {
	dir := opts.Dir
	if dir == "" {
		var tmp string
		tmp, err = os.MkdirTemp(opts.TempRoot, "m365send-sandbox-")
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer func() {
			if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
				err = fmt.Errorf("sandbox: clean up: %w", rmErr)
			}
		}()
		dir = tmp
	}
	if err := CheckDir(dir); err != nil {
		return err
	}
	sb, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sb.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("sandbox: %w", cerr)
		}
	}()
	if opts.Demo {
		return Demo(ctx, sb, opts.Out, opts.Session)
	}

	out := opts.Out
	if err := sb.WriteInstructions(out, "m365send"); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s%s\nPress Ctrl-C to stop. Messages the fake Office 365 receives are printed below.\n", ReadyLine, sb.ConfigFile)
	for n := 1; ; n++ {
		msgs, err := sb.SMTP.WaitMessages(ctx, n)
		if err != nil {
			// The context ended: a normal stop.
			break
		}
		if err := WriteMessage(out, msgs[n-1]); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "m365send sandbox: stopped")
	return nil
}
