package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/relay"
)

// relayReport runs the relay step over a file holding a profile "p" and
// text, with state as $M365SEND_STATE_DIR.
func relayReport(t *testing.T, text, state string) *Report {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.toml")
	profile := "[profiles.p]\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"5b1e7d04-4d52-4c4e-9d0e-5a4d0b7c1a01\"\nclient_secret_env = \"S\"\nmailbox = \"p@contoso.com\"\n"
	if err := os.WriteFile(file, []byte(profile+text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"M365SEND_STATE_DIR": state, "HOME": t.TempDir()}
	d := &Report{}
	d.relay(config.LoadOptions{File: file, Env: func(k string) string { return env[k] }})
	return d
}

func TestRelayStep(t *testing.T) {
	hash, err := relay.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	user := "\n[[relay.users]]\nname = \"u\"\npassword_hash = \"" + hash + "\"\nprofiles = [\"p\"]\n"

	// No [relay] table: no step.
	if d := relayReport(t, "", t.TempDir()); len(d.Results) != 0 {
		t.Errorf("without [relay]: %+v, want no step", d.Results)
	}

	// Before the first start: no certificate yet, and none is made.
	state := t.TempDir()
	d := relayReport(t, "[relay]\nlisten = [\"0.0.0.0:2525\"]\n"+user, state)
	if len(d.Results) != 1 || d.Results[0].Status != OK || !strings.Contains(d.Results[0].Detail, "not generated yet") {
		t.Fatalf("before the first start: %+v", d.Results)
	}
	if _, err := os.Stat(filepath.Join(state, relay.GeneratedCertFile)); err == nil {
		t.Error("doctor generated a certificate")
	}

	// After it: the generated certificate's fingerprint.
	c, err := relay.Decode("x", []byte("[relay]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := relay.Certificate(c, state, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d = relayReport(t, "[relay]\nlisten = [\"0.0.0.0:2525\"]\n"+user, state)
	want := "certificate SHA-256 fingerprint " + relay.Fingerprint(cert)
	if len(d.Results) != 1 || d.Results[0].Status != OK || !strings.Contains(d.Results[0].Detail, want) {
		t.Fatalf("after the first start: %+v, want %q", d.Results, want)
	}

	// What relay --check refuses, doctor fails with kind Config.
	for _, tc := range []struct{ name, table, want string }{
		{"open relay", "[relay]\nlisten = [\"0.0.0.0:25\"]\n", "open relay"},
		{"unhashed password", "[relay]\n[[relay.users]]\nname = \"u\"\npassword_hash = \"hunter2\"\nprofiles = [\"p\"]\n", "not an argon2id hash"},
		{"unknown profile", "[relay]\n[[relay.users]]\nname = \"u\"\npassword_hash = \"" + hash + "\"\nprofiles = [\"q\"]\n", `profile "q" does not exist`},
		{"missing certificate", "[relay]\ntls_cert_file = \"/nonexistent/relay.pem\"\ntls_key_file = \"/nonexistent/relay.key\"\n", "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := relayReport(t, tc.table, t.TempDir())
			if len(d.Results) != 1 || d.Results[0].Status != Fail || d.Results[0].Kind != failure.Config ||
				d.Results[0].Err == nil || !strings.Contains(d.Results[0].Err.Error(), tc.want) {
				t.Fatalf("%+v, want a Config failure saying %q", d.Results, tc.want)
			}
		})
	}
}
