package config

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entraSecret is shaped like a real Entra ID client secret value.
const entraSecret = "PFB8Q~snfX2kLq9vR.Tz3hWm_Yp0cJd-4eUa7bGi"

func TestSecretCommandFailureKeepsItsOutputOut(t *testing.T) {
	f := newFixture(t)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
		`client_secret_command = ["sh", "-c", "echo 'vault: bad token for ` + entraSecret + `' >&2; echo ` + entraSecret + `; exit 3"]` + "\n")
	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Secret(context.Background())
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Secret error = %v (%T), want *Error", err, err)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Error() = %q, want the exit status", err)
	}
	if !strings.Contains(ce.Hint(), "run the command by hand") {
		t.Errorf("Hint = %q, want a hint to run the command by hand", ce.Hint())
	}
	if strings.Contains(err.Error(), "vault: bad token") {
		t.Errorf("error repeats the command's stderr: %v", err)
	}
	for _, s := range []string{err.Error(), ce.Hint()} {
		if strings.Contains(s, "PFB8Q") || strings.Contains(s, "snfX2k") {
			t.Errorf("error leaks the secret: %q", s)
		}
	}
}

// legacySecret is shaped like an older client secret (no "~", with / + =).
const legacySecret = "Jd4C/nN+K=?]mZ8xQ2pLr7vT9wY1bF3hA5sD"

func TestValidationErrorsNeverEchoASecret(t *testing.T) {
	base := map[string]string{"AZURE_TENANT_ID": tenantID, "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "not-checked-here"}
	for i, secret := range []string{entraSecret, legacySecret} {
		for _, tc := range []struct {
			name  string
			env   string            // variable set to the secret
			file  bool              // write a config file with profile "p"
			unset string            // variable of base to leave out
			opts  LoadOptions       // Profile "SECRET" is replaced by the secret
			vars  map[string]string // more variables; "SECRET" is replaced by the secret
			lines string            // the default profile's lines in a config file; "SECRET" is replaced by the secret
		}{
			{name: "client_id", env: "AZURE_CLIENT_ID"},
			{name: "tenant", env: "AZURE_TENANT_ID"},
			{name: "mailbox", env: "M365SEND_MAILBOX"},
			{name: "mailbox in the file", lines: `mailbox = "SECRET"`},
			{name: "cloud", env: "M365SEND_CLOUD"},
			{name: "flow", env: "M365SEND_FLOW"},
			{name: "smtp_port", env: "M365SEND_SMTP_PORT"},
			{name: "smtp_host", env: "M365SEND_SMTP_HOST"},
			{name: "authority_host", env: "M365SEND_AUTHORITY_HOST"},
			{name: "authority_host URL", vars: map[string]string{"M365SEND_AUTHORITY_HOST": "https://SECRET"}},
			{name: "rate_per_minute", env: "M365SEND_RATE_PER_MINUTE"},
			{name: "client_secret_env", unset: "AZURE_CLIENT_SECRET", lines: `client_secret_env = "SECRET"`},
			{name: "client_secret_file", env: "M365SEND_CLIENT_SECRET_FILE"},
			{name: "certificate_file", env: "AZURE_CLIENT_CERTIFICATE_PATH"},
			{name: "federated_token_file", env: "AZURE_FEDERATED_TOKEN_FILE"},
			{name: "ca_file", env: "M365SEND_CA_FILE"},
			{name: "config file", env: "M365SEND_CONFIG"},
			{name: "profile from env", env: "M365SEND_PROFILE", file: true},
			{name: "profile flag", file: true, opts: LoadOptions{Profile: "SECRET"}},
			{name: "profile without a file", env: "M365SEND_PROFILE", unset: "AZURE_TENANT_ID"},
			{name: "profile without a credential", env: "M365SEND_PROFILE", unset: "AZURE_CLIENT_SECRET", vars: map[string]string{"M365SEND_FLOW": "client_credentials"}},
		} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, i), func(t *testing.T) {
				f := newFixture(t)
				for k, v := range base {
					f.env[k] = v
				}
				if tc.env == "M365SEND_CLIENT_SECRET_FILE" || tc.env == "AZURE_CLIENT_CERTIFICATE_PATH" || tc.env == "AZURE_FEDERATED_TOKEN_FILE" {
					delete(f.env, "AZURE_CLIENT_SECRET")
				}
				delete(f.env, tc.unset)
				if tc.env != "" {
					f.env[tc.env] = secret
				}
				if tc.file {
					f.config("[profiles.p]\nclient_secret_env = \"S\"\n")
				}
				opts := tc.opts
				if opts.Profile == "SECRET" {
					opts.Profile = secret
				}
				for k, v := range tc.vars {
					f.env[k] = strings.ReplaceAll(v, "SECRET", secret)
				}
				if tc.lines != "" {
					f.config("[profiles.default]\n" + strings.ReplaceAll(tc.lines, "SECRET", secret) + "\n")
				}
				_, err := f.load(opts)
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
				}
				text := err.Error() + "\n" + ce.Hint()
				leak := secret
				if strings.Contains(secret, "~") {
					leak = secret[:3] // an Entra-shaped secret is never shown, not even in part
				}
				if strings.Contains(text, leak) {
					t.Errorf("error shows the secret:\n%s", text)
				}
			})
		}
	}
}

func TestMistypedSecretVariable(t *testing.T) {
	env := map[string]string{
		"AZURE_TENANT_ID": tenantID, "AZURE_CLIENT_ID": clientID, "M365SEND_MAILBOX": "robot@contoso.com",
		"M365SEND_CLIENT_SECRET": entraSecret, "HOME": t.TempDir(), "REQUIRE_TEST_TOOLS": "1",
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	getenv := func(k string) string { return env[k] }

	_, err := Load(LoadOptions{Env: getenv, Environ: environ})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
	}
	if ce.Key != "M365SEND_CLIENT_SECRET" || !strings.Contains(ce.Msg, "unknown environment variable") {
		t.Errorf("error = %v (key %q)", err, ce.Key)
	}
	if want := "did you mean M365SEND_CLIENT_SECRET_FILE, or AZURE_CLIENT_SECRET?"; !strings.Contains(ce.Hint(), want) {
		t.Errorf("Hint = %q, want it to contain %q", ce.Hint(), want)
	}
	if strings.Contains(err.Error()+ce.Hint(), "PFB") {
		t.Errorf("error shows the value: %v / %s", err, ce.Hint())
	}

	// Environ alone is enough: values are read from it, and the check is
	// made. This is how every command should call Load.
	if _, err := Load(LoadOptions{Environ: environ}); !errors.As(err, &ce) || ce.Key != "M365SEND_CLIENT_SECRET" {
		t.Errorf("Load with Environ only: %v, want the unknown-variable error", err)
	}
	var known []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "M365SEND_CLIENT_SECRET=") {
			known = append(known, kv)
		}
	}
	if p, err := Load(LoadOptions{Environ: known}); err != nil || p.Mailbox != "robot@contoso.com" || p.Tenant != tenantID {
		t.Errorf("Load with Environ only: %v, %v; want the environment's profile", p, err)
	}

	// Without Environ the check is skipped, and the profile says that its
	// flow was only inferred.
	p, err := Load(LoadOptions{Env: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if p.Flow != FlowDeviceCode || !p.FlowInferred {
		t.Errorf("Flow = %q, FlowInferred = %v; want device_code, inferred", p.Flow, p.FlowInferred)
	}
	env["M365SEND_FLOW"] = FlowDeviceCode
	if p, err := Load(LoadOptions{Env: getenv}); err != nil || p.FlowInferred {
		t.Errorf("explicit flow: FlowInferred = %v, %v", p != nil && p.FlowInferred, err)
	}
	delete(env, "M365SEND_FLOW")
	env["AZURE_CLIENT_SECRET"] = entraSecret
	if p, err := Load(LoadOptions{Env: getenv}); err != nil || p.FlowInferred || p.Flow != FlowClientCredentials {
		t.Errorf("with a secret: %+v, %v", p, err)
	}
}

func TestUnknownProgramVariables(t *testing.T) {
	base := []string{"AZURE_TENANT_ID=" + tenantID, "AZURE_CLIENT_ID=" + clientID, "AZURE_CLIENT_SECRET=s",
		"M365SEND_CONFIG=", "M365SEND_PROFILE=", "M365SEND_CACHE_DIR=/c", "M365SEND_RATE_PER_MINUTE=", "REQUIRE_TEST_TOOLS=1", "NOEQUALS"}
	for _, tc := range []struct{ env, hint string }{
		{"", ""},
		{"M365SEND_TENANT_ID=x", "did you mean AZURE_TENANT_ID?"},
		{"M365SEND_MAIlBOX=x", "did you mean M365SEND_MAILBOX?"},
		{"M365SEND_SMTP_PROT=25", "did you mean M365SEND_SMTP_PORT?"},
		{"m365send_mailbox=x", "did you mean M365SEND_MAILBOX?"},
		{"M365SEND_XYZZY=x", "known: M365SEND_CONFIG, M365SEND_PROFILE, M365SEND_FLOW"},
	} {
		environ := append(append([]string{}, base...), tc.env)
		env := map[string]string{}
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = v
			}
		}
		_, err := Load(LoadOptions{Env: func(k string) string { return env[k] }, Environ: environ})
		if tc.hint == "" {
			if err != nil {
				t.Errorf("known variables only: %v", err)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Hint(), tc.hint) {
			t.Errorf("%s: err = %v, hint %q; want hint %q", tc.env, err, hintOf(err), tc.hint)
		}
	}
}

func hintOf(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Hint()
	}
	return ""
}

func TestTypoInSecretKeyGetsDidYouMean(t *testing.T) {
	for _, tc := range []struct{ line, msg, hint string }{
		{`client_secret_fiel = "/etc/m365send/secret"`, "unknown key", `did you mean "client_secret_file"?`},
		{`client_secret_evn = "S"`, "unknown key", `did you mean "client_secret_env"?`},
		{`clientsecret_command = ["pass", "x"]`, "unknown key", `did you mean "client_secret_command"?`},
		{`federated_token_fil = "/t"`, "unknown key", `did you mean "federated_token_file"?`},
		{`client_secret = "hunter2-literal"`, "secrets never sit in the TOML", "client_secret_env, client_secret_file or client_secret_command"},
		{`password = "hunter2-literal"`, "secrets never sit in the TOML", "client_secret_env"},
	} {
		f := newFixture(t)
		f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" + tc.line + "\n")
		_, err := f.load(LoadOptions{Profile: "p"})
		var ce *Error
		if !errors.As(err, &ce) || ce.Line != 4 || !strings.Contains(ce.Msg, tc.msg) || !strings.Contains(ce.Hint(), tc.hint) {
			t.Errorf("%s: err = %v, hint %q; want %q with hint %q", tc.line, err, hintOf(err), tc.msg, tc.hint)
		}
	}
}

func TestHostOfAnotherCloudRefused(t *testing.T) {
	for _, tc := range []struct {
		lines string
		key   string // "" = loads
		hint  string
	}{
		{"cloud = \"usgov\"\nauthority_host = \"login.microsoftonline.com\"", "authority_host", `cloud = "global"`},
		{"authority_host = \"login.microsoftonline.us\"", "authority_host", `cloud = "usgov"`},
		{"cloud = \"china\"\nauthority_host = \"https://LOGIN.microsoftonline.com:443/\"", "authority_host", `cloud = "global"`},
		{"cloud = \"global\"\nauthority_host = \"login.partner.microsoftonline.cn\"", "authority_host", `cloud = "china"`},
		{"cloud = \"usgov\"\nsmtp_host = \"smtp.office365.com\"", "smtp_host", `cloud = "global"`},
		{"cloud = \"usgovdod\"\nsmtp_host = \"smtp.office365.us\"", "smtp_host", `cloud = "usgov"`},
		{"cloud = \"usgov\"\nsmtp_host = \"outlook-dod.office365.us\"", "smtp_host", `cloud = "usgovdod"`},
		{"smtp_host = \"smtp.partner.outlook.cn\"", "smtp_host", `cloud = "china"`},
		{"cloud = \"usgovdod\"\nauthority_host = \"login.microsoftonline.us\"\nsmtp_host = \"outlook-dod.office365.us\"", "", ""},
		{"cloud = \"usgov\"\nauthority_host = \"login.microsoftonline.us:443\"\nsmtp_host = \"smtp.office365.us\"", "", ""},
		{"cloud = \"global\"\nauthority_host = \"login.microsoftonline.com\"\nsmtp_host = \"smtp-hve.office365.com\"", "", ""},
		{"cloud = \"usgov\"\nauthority_host = \"127.0.0.1:8443\"\nsmtp_host = \"localhost\"", "", ""},
		{"cloud = \"china\"\nauthority_host = \"https://login.private.example.net\"\nsmtp_host = \"smtp.private.example.net\"", "", ""},
	} {
		f := newFixture(t)
		f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n" + tc.lines + "\n")
		_, err := f.load(LoadOptions{Profile: "p"})
		if tc.key == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.lines, err)
			}
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Key != "profiles.p."+tc.key || !strings.Contains(ce.Hint(), tc.hint) {
			t.Errorf("%s: err = %v, hint %q; want an error at %s with hint %q", tc.lines, err, hintOf(err), tc.key, tc.hint)
		}
	}
}

func TestPortAndRateBounds(t *testing.T) {
	for _, tc := range []struct {
		line string
		env  map[string]string
		msg  string // "" = loads
		port int
		rate int
	}{
		{line: "smtp_port = 0", msg: "smtp_port 0 is out of range: must be 1-65535"},
		{env: map[string]string{"M365SEND_SMTP_PORT": "0"}, msg: "must be 1-65535"},
		{line: "smtp_port = 70000", msg: "must be 1-65535"},
		{line: "smtp_port = -25", msg: "must be 1-65535"},
		{line: "smtp_port = 2525", port: 2525},
		{line: "", port: 587},
		{line: "rate_per_minute = 0", port: 587, rate: 0},
		{line: "rate_per_minute = -1", port: 587, rate: -1},
		{line: "rate_per_minute = 12", port: 587, rate: 12},
		{line: "rate_per_minute = -2", msg: "rate_per_minute -2 is out of range"},
		{env: map[string]string{"M365SEND_RATE_PER_MINUTE": "-30"}, msg: "rate_per_minute -30 is out of range"},
	} {
		f := newFixture(t)
		for k, v := range tc.env {
			f.env[k] = v
		}
		f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n" + tc.line + "\n")
		p, err := f.load(LoadOptions{Profile: "p"})
		if tc.msg != "" {
			var ce *Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Msg, tc.msg) {
				t.Errorf("%s %v: err = %v, want %q", tc.line, tc.env, err, tc.msg)
			}
			continue
		}
		if err != nil || p.SMTPPort != tc.port || p.RatePerMinute != tc.rate {
			t.Errorf("%s: %v, %v; want port %d rate %d", tc.line, p, err, tc.port, tc.rate)
		}
	}
}

func TestConfigInDirectoryOthersCanWrite(t *testing.T) {
	content := "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n"
	for _, tc := range []struct {
		name    string
		modes   []os.FileMode // of dir a, then a/b; the file is in a/b
		refused string        // the directory named in the hint, "" = loads
	}{
		{"world-writable", []os.FileMode{0o700, 0o777}, "a/b"},
		{"world-writable ancestor", []os.FileMode{0o757, 0o700}, "a"},
		{"sticky", []os.FileMode{0o700, 0o777 | os.ModeSticky}, ""},
		{"group-writable", []os.FileMode{0o770, 0o770}, ""},
		{"private", []os.FileMode{0o700, 0o755}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			path := f.write("a/b/config.toml", content, 0o600)
			a, b := filepath.Join(f.dir, "a"), filepath.Join(f.dir, "a", "b")
			for i, d := range []string{a, b} {
				if err := os.Chmod(d, tc.modes[i]); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { os.Chmod(a, 0o700); os.Chmod(b, 0o700) })
			_, err := f.load(LoadOptions{File: path, Profile: "p"})
			if tc.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v, want *Error", err)
			}
			dir := filepath.Join(f.dir, tc.refused)
			if !strings.Contains(ce.Msg, "others can write") || ce.Hint() != "chmod o-w "+dir {
				t.Errorf("err = %v, hint %q", err, ce.Hint())
			}
		})
	}
}
