package main

import (
	"bytes"
	"context"
	"testing"
)

// TestVersionFlag checks that `m365send --version` prints what `m365send
// version` prints, and that -v is not taken for it.
func TestVersionFlag(t *testing.T) {
	runOut := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"m365send"}, args...), IO{Out: &out, Err: &errb})
		return code, out.String(), errb.String()
	}
	code, want, stderr := runOut("version")
	if code != 0 || want != versionString()+"\n" || stderr != "" {
		t.Fatalf("version: exit %d, stdout %q, stderr %q", code, want, stderr)
	}
	code, got, stderr := runOut("--version")
	if code != 0 || got != want || stderr != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q; want stdout %q", code, got, stderr, want)
	}
	if code, _, _ := runOut("-v"); code != exitUsage {
		t.Errorf("-v: exit %d, want %d (it is no version flag)", code, exitUsage)
	}
}
