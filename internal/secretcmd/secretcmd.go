// Package secretcmd runs a secret helper command (config's
// client_secret_command): without a shell, in a process group of its own
// so that cancellation takes the helper's children with it, with its
// standard error discarded.
package secretcmd

import (
	"bytes"
	"context"
	"os/exec"
	"time"
)

// Output runs argv[0] with the arguments argv[1:] and returns what it
// printed on standard output. Cancelling ctx kills the command and its
// process group. Standard error is discarded, never returned: a failing
// secret helper may well print the secret (or part of it) there. The
// error is the one from exec.Cmd.Run (exec.ErrNotFound, *exec.ExitError,
// ...), which holds no output.
func Output(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = nil
	ownProcessGroup(cmd)
	// WaitDelay bounds the wait for the output pipe after the command is
	// killed, should something outside its group still hold it open.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	return stdout.Bytes(), err
}
