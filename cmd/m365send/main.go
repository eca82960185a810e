// Command m365send sends mail through Microsoft 365 with modern
// authentication. See the README for usage.
//
// The command holds no protocol or auth logic: it parses arguments, wires
// config, token and sender together, prints results and maps errors to
// sysexits(3) exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signalContext()
	code := run(ctx, os.Args, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv, Environ: os.Environ()})
	stop()
	os.Exit(code)
}

// signalContext is the context of a run of the program: canceled by
// SIGINT or SIGTERM. It also handles SIGPIPE, so that a closed standard
// output (a reader that went away) fails the write instead of killing the
// process: after a message was sent, send exits 0 with a warning rather
// than die by SIGPIPE (see `m365send help send`).
func signalContext() (context.Context, context.CancelFunc) {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
