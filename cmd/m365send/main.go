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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A closed standard output (a reader that went away) must fail the
	// write, not kill the process: after a message was sent, send exits 0
	// with a warning rather than die by SIGPIPE (see `m365send help send`).
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	code := run(ctx, os.Args, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Env: os.Getenv, Environ: os.Environ()})
	stop()
	os.Exit(code)
}
