//go:build unix

package secretcmd

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// Output returns standard output only; standard error never reaches the
// caller, even when the command fails.
func TestOutput(t *testing.T) {
	out, err := Output(context.Background(), []string{"sh", "-c", "echo s3cret; echo leaked >&2"})
	if err != nil || string(out) != "s3cret\n" {
		t.Fatalf("Output = %q, %v; want %q, nil", out, err, "s3cret\n")
	}
	_, err = Output(context.Background(), []string{"sh", "-c", "echo leaked >&2; exit 3"})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("err = %v; want exit status 3", err)
	}
	if strings.Contains(err.Error(), "leaked") || strings.Contains(string(ee.Stderr), "leaked") {
		t.Errorf("standard error reached the caller: %v %q", err, ee.Stderr)
	}
	if _, err := Output(context.Background(), []string{"no-such-secret-helper-xyz"}); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("err = %v; want exec.ErrNotFound", err)
	}
}
