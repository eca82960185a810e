package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// A profile that names no flow and has no client credential is taken as
// device_code; when it then needs a sign-in, the error says why.
func TestE2EInferredFlowSaysWhyASignInIsRequired(t *testing.T) {
	w := newWorld(t, worldOptions{})
	// Meant as an app profile, but its secret variable is misspelt.
	w.writeConfig(fmt.Sprintf("default_profile = \"alerts\"\n[profiles.alerts]\ntenant = %q\nclient_id = %q\nmailbox = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, e2eMailbox, w.endpoints()))
	env := map[string]string{"AZURE_CLIENT_SECRT": e2eSecret}
	const why = "no client credential was found (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, client_secret_env/_file/_command, certificate_file), so flow device_code was assumed"
	for _, args := range [][]string{
		{"send", "--to", "ops@contoso.com", "--body", "x"},
		{"token"},
	} {
		r := w.run(runOpts{env: env}, args...)
		wantExit(t, r, exitNoPerm)
		if !strings.HasPrefix(r.stderr, "m365send: sign-in required") || !strings.Contains(r.stderr, "\n  hint: "+why) ||
			!strings.Contains(r.stderr, "m365send login") {
			t.Errorf("%s: the error does not say why a sign-in is required:\n%s", args[0], r)
		}
	}
	r := w.run(runOpts{env: env}, "doctor")
	wantExit(t, r, exitNoPerm)
	if !strings.Contains(r.stdout, "device_code (inferred: no client credential found)") || !strings.Contains(r.stdout, why) {
		t.Errorf("doctor does not say the flow was inferred:\n%s", r)
	}

	// With flow named, the plain hint stays.
	w.writeConfig(fmt.Sprintf("default_profile = \"me\"\n[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\nmailbox = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, e2eMailbox, w.endpoints()))
	r = w.run(runOpts{env: env}, "token")
	wantExit(t, r, exitNoPerm)
	if strings.Contains(r.stderr, "assumed") || !strings.Contains(r.stderr, "m365send login") {
		t.Errorf("explicit device_code profile:\n%s", r)
	}
	r = w.run(runOpts{env: env}, "doctor")
	if strings.Contains(r.stdout, "inferred") {
		t.Errorf("doctor says an explicit flow was inferred:\n%s", r)
	}
}

func TestInferredFlowHintReachesSendmail(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig(fmt.Sprintf("default_profile = \"alerts\"\n[profiles.alerts]\ntenant = %q\nclient_id = %q\nmailbox = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, e2eMailbox, w.endpoints()))
	env := map[string]string{
		"HOME":            w.home,
		"XDG_CONFIG_HOME": filepath.Join(w.home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(w.home, ".cache"),
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"/usr/sbin/sendmail", "-t"}, IO{
		In:  strings.NewReader("To: ops@contoso.com\nSubject: x\n\nbody\n"),
		Out: &out, Err: &errb,
		Env: func(k string) string { return env[k] },
	})
	if code != exitNoPerm || !strings.Contains(errb.String(), "so flow device_code was assumed") {
		t.Errorf("sendmail: exit %d, want %d with the inferred-flow hint:\n%s", code, exitNoPerm, errb.String())
	}
}
