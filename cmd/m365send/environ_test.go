package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// In-process runs pass their own environment (IO.Environ), and a misspelt
// M365SEND_ variable in it is refused; testdata/script/environ.txtar checks
// the binary, whose main passes the whole environment.
func TestUnknownM365SENDVariableInIOEnvironIsRefused(t *testing.T) {
	code, _, stderr := runInProcessEnviron(t, map[string]string{"M365SEND_MAILBX": "x@contoso.com"}, []string{"M365SEND_MAILBX=x@contoso.com"}, "token")
	if code != exitConfig || !strings.Contains(stderr, "M365SEND_MAILBX") {
		t.Errorf("in-process with IO.Environ: exit %d\n%s", code, stderr)
	}
}

// runInProcessEnviron is runInProcess with IO.Environ set.
func runInProcessEnviron(t *testing.T, env map[string]string, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"m365send"}, args...), IO{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Env:     func(k string) string { return env[k] },
		Environ: environ,
	})
	return code, out.String(), errb.String()
}
