package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// main passes the whole environment, so a misspelt M365SEND_ variable is
// refused rather than ignored; in-process runs pass their own.
func TestE2EUnknownM365SENDVariableIsRefused(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	r := w.run(runOpts{env: map[string]string{"ALERTS_SECRET": e2eSecret, "M365SEND_MAILBX": "x@contoso.com"}}, "token")
	wantExit(t, r, exitConfig)
	if !strings.Contains(r.stderr, "M365SEND_MAILBX") || !strings.Contains(r.stderr, "M365SEND_MAILBOX") {
		t.Errorf("binary: misspelt variable not refused with a suggestion:\n%s", r)
	}

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
