package config

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/suggest"
	"github.com/m365send/m365send/internal/tomlscan"

	"github.com/m365send/m365send/internal/testca"
)

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	clientID = "00000000-0000-0000-0000-0000000000aa"
)

// fixture is a temporary HOME with helpers to write files into it.
type fixture struct {
	t    *testing.T
	dir  string
	env  map[string]string
	file string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	return &fixture{t: t, dir: dir, env: map[string]string{"HOME": dir}}
}

func (f *fixture) write(name, content string, mode os.FileMode) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// config writes the default config file ($HOME/.config/m365send/config.toml).
func (f *fixture) config(content string) string {
	f.t.Helper()
	f.file = f.write(".config/m365send/config.toml", content, 0o600)
	return f.file
}

func (f *fixture) getenv(k string) string { return f.env[k] }

func (f *fixture) load(opts LoadOptions) (*Profile, error) {
	opts.Env = f.getenv
	return Load(opts)
}

const basic = `
default_profile = "alerts"

[profiles.alerts]
flow = "client_credentials"
tenant = "contoso.onmicrosoft.com"
client_id = "` + clientID + `"
client_secret_env = "ALERTS_SECRET"
mailbox = "alerts@contoso.com"
from_name = "Contoso Alerts"
cloud = "global"
rate_per_minute = 20

[profiles.ops]
tenant = "` + tenantID + `"
client_id = "` + clientID + `"
mailbox = "ops@contoso.com"
cloud = "usgov"
smtp_host = "smtp.example.net"
smtp_port = 25
authority_host = "login.example.net:8443"
cache_dir = "/var/cache/m365"
`

func TestLoadFileProfile(t *testing.T) {
	f := newFixture(t)
	path := f.config(basic)
	p, err := f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{
		Name: "alerts", File: path, Flow: FlowClientCredentials, Tenant: "contoso.onmicrosoft.com", ClientID: clientID,
		ClientSecretEnv: "ALERTS_SECRET", Mailbox: "alerts@contoso.com", FromName: "Contoso Alerts", Cloud: "global",
		SMTPPort: 587, RatePerMinute: 20, CacheDir: filepath.Join(f.dir, ".local", "state", "m365send", "tokens"), Transport: TransportSMTP, TokenStore: TokenStoreFile,
		LegacyCacheDir: filepath.Join(f.dir, ".cache", "m365send"),
	}
	p.env, p.secretTimeout, p.prov = nil, 0, nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", *p, *want)
	}
	if got, want := p.CacheFile(), filepath.Join(f.dir, ".local", "state", "m365send", "tokens", "alerts.json"); got != want {
		t.Errorf("CacheFile = %q, want %q", got, want)
	}
}

func TestLoadSelectsProfile(t *testing.T) {
	f := newFixture(t)
	f.config(basic)
	for _, tc := range []struct {
		name, flag, env, want string
	}{
		{"default_profile", "", "", "alerts"},
		{"environment", "", "ops", "ops"},
		{"flag beats environment", "alerts", "ops", "alerts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.env["M365SEND_PROFILE"] = tc.env
			p, err := f.load(LoadOptions{Profile: tc.flag})
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.want {
				t.Errorf("profile %q, want %q", p.Name, tc.want)
			}
		})
	}
	f.env["M365SEND_PROFILE"] = ""
	p, err := f.load(LoadOptions{Profile: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Flow != FlowDeviceCode || p.Cloud != "usgov" || p.SMTPHost != "smtp.example.net" || p.SMTPPort != 25 ||
		p.AuthorityHost != "login.example.net:8443" || p.CacheFile() != "/var/cache/m365/ops.json" {
		t.Errorf("ops profile: %+v", *p)
	}
}

func TestLoadEnvOnlyWithoutFile(t *testing.T) {
	f := newFixture(t)
	f.env["AZURE_TENANT_ID"] = tenantID
	f.env["AZURE_CLIENT_ID"] = clientID
	f.env["AZURE_CLIENT_SECRET"] = "env-only-secret-value"
	f.env["M365SEND_MAILBOX"] = "robot@contoso.com"
	f.env["M365SEND_SMTP_PORT"] = "2525"
	f.env["M365SEND_CACHE_DIR"] = "/tmp/m365cache"
	p, err := f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "default" || p.File != "" || p.Flow != FlowClientCredentials || p.Tenant != tenantID ||
		p.Mailbox != "robot@contoso.com" || p.SMTPPort != 2525 || p.CacheFile() != "/tmp/m365cache/default.json" {
		t.Errorf("profile %+v", *p)
	}
	s, err := p.Secret(context.Background())
	if err != nil || s != "env-only-secret-value" {
		t.Errorf("Secret = %q, %v", s, err)
	}
	for _, s := range []string{p.String(), fmt.Sprintf("%v|%+v|%#v|%v|%+v|%#v", p, p, p, *p, *p, *p)} {
		if strings.Contains(s, "env-only") {
			t.Errorf("printing the profile leaks the secret: %s", s)
		}
	}
	if p.CredentialSource() != "AZURE_CLIENT_SECRET" {
		t.Errorf("CredentialSource = %q", p.CredentialSource())
	}

	f.env["M365SEND_PROFILE"] = "ci"
	p, err = f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "ci" || p.CacheFile() != "/tmp/m365cache/ci.json" {
		t.Errorf("name %q cache %q", p.Name, p.CacheFile())
	}
}

func TestLoadPrecedence(t *testing.T) {
	f := newFixture(t)
	cert := f.write("app.pem", string(certAndKeyPEM(t)), 0o600)
	f.config(basic)
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(*Profile) string
	}{
		{"file", nil, func(p *Profile) string { return p.Mailbox + " " + p.ClientSecretEnv }},
		{"env beats file", map[string]string{"M365SEND_MAILBOX": "env@contoso.com"},
			func(p *Profile) string { return p.Mailbox + " " + p.ClientSecretEnv }},
		{"env certificate replaces file secret", map[string]string{"AZURE_CLIENT_CERTIFICATE_PATH": cert},
			func(p *Profile) string { return p.Mailbox + " " + p.ClientSecretEnv + p.CertificateFile }},
		{"env port", map[string]string{"M365SEND_SMTP_PORT": "2587", "M365SEND_SMTP_HOST": "127.0.0.1"},
			func(p *Profile) string { return p.SMTPHost + " " + p.Mailbox + " " + string(rune('0'+p.SMTPPort%10)) }},
		{"cache dir env beats XDG", map[string]string{"M365SEND_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"},
			func(p *Profile) string { return p.CacheFile() }},
		{"XDG state", map[string]string{"XDG_STATE_HOME": "/s", "XDG_CACHE_HOME": "/x"},
			func(p *Profile) string { return p.CacheFile() + " " + p.LegacyCacheFile() }},
		{"state dir env", map[string]string{"M365SEND_STATE_DIR": "/st"},
			func(p *Profile) string { return p.CacheFile() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": f.dir}
			for k, v := range tc.env {
				env[k] = v
			}
			p, err := Load(LoadOptions{Env: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			got := tc.check(p)
			want := map[string]string{
				"file":                                 "alerts@contoso.com ALERTS_SECRET",
				"env beats file":                       "env@contoso.com ALERTS_SECRET",
				"env certificate replaces file secret": "alerts@contoso.com " + cert,
				"env port":                             "127.0.0.1 alerts@contoso.com 7",
				"cache dir env beats XDG":              "/c/alerts.json",
				"XDG state":                            "/s/m365send/tokens/alerts.json /x/m365send/alerts.json",
				"state dir env":                        "/st/tokens/alerts.json",
			}[tc.name]
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestConfigPathDefaults(t *testing.T) {
	f := newFixture(t)
	xdg := filepath.Join(f.dir, "xdg")
	f.write("xdg/m365send/config.toml", strings.Replace(basic, "Contoso Alerts", "from xdg", 1), 0o600)
	f.config(basic)
	named := f.write("named.toml", strings.Replace(basic, "Contoso Alerts", "named", 1), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		flag string
		want string
	}{
		{"HOME", nil, "", "Contoso Alerts"},
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": xdg}, "", "from xdg"},
		{"M365SEND_CONFIG", map[string]string{"XDG_CONFIG_HOME": xdg, "M365SEND_CONFIG": named}, "", "named"},
		{"--config", map[string]string{"M365SEND_CONFIG": "/nonexistent"}, named, "named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": f.dir}
			for k, v := range tc.env {
				env[k] = v
			}
			p, err := Load(LoadOptions{File: tc.flag, Env: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if p.FromName != tc.want {
				t.Errorf("read %q, want %q", p.FromName, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	profile := func(extra string) string {
		return "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" + extra
	}
	withSecret := func(extra string) string { return profile("client_secret_env = \"S\"\n" + extra) }
	for _, tc := range []struct {
		name    string
		file    string            // config file content ("" = none)
		mode    os.FileMode       // config file mode (0 = 0600)
		files   map[string]string // extra files name → content, mode 0600 unless name ends in ":644"
		env     map[string]string
		opts    LoadOptions
		line    int    // expected line (0: not checked)
		key     string // expected Key
		msg     string // substring of Error()
		hint    string // substring of Hint
		notHint string // must not be in Hint
		profile string
	}{
		{name: "unknown key with suggestion", file: withSecret("tenat = \"x\"\n"), line: 5, key: "profiles.p.tenat", msg: "unknown key", hint: `did you mean "tenant"?`},
		{name: "unknown key mailbx", file: withSecret("mailbx = \"a@b.com\"\n"), line: 5, key: "profiles.p.mailbx", hint: `did you mean "mailbox"?`},
		{name: "unknown key without suggestion", file: withSecret("xyzzy = \"blue\"\n"), line: 5, hint: "known keys: flow, tenant"},
		{name: "unknown top-level key", file: "default_profil = \"p\"\n" + withSecret(""), line: 1, key: "default_profil", hint: `did you mean "default_profile"?`},
		{name: "secret literally in the file", file: profile("client_secret = \"hunter2-literal\"\n"), line: 4, key: "profiles.p.client_secret",
			msg: "secrets never sit in the TOML; use client_secret_env/_file/_command"},
		{name: "password literally in the file", file: profile("password = \"hunter2-literal\"\n"), msg: "secrets never sit in the TOML"},
		{name: "missing tenant", file: "[profiles.p]\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n", opts: LoadOptions{Profile: "p"}, line: 1, key: "profiles.p.tenant", msg: `no tenant for profile "p"`, hint: "AZURE_TENANT_ID"},
		{name: "missing tenant in the implicit default profile", file: "[profiles.default]\n", line: 1, key: "profiles.default.tenant", msg: `no tenant for profile "default"`,
			hint: "set tenant in [profiles.default] or $AZURE_TENANT_ID", notHint: "no profile selected"},
		{name: "missing client id in the implicit default profile", file: "[profiles.default]\ntenant = \"" + tenantID + "\"\n", line: 1, key: "profiles.default.client_id",
			hint: "set client_id in [profiles.default]", notHint: "no profile selected"},
		{name: "missing credential in the implicit default profile", file: "[profiles.other]\n[profiles.default]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nflow = \"client_credentials\"\n",
			line: 2, key: "profiles.default", msg: "no client credential", hint: "certificate_file", notHint: "no profile selected"},
		{name: "missing client id", file: "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_secret_env = \"S\"\n", opts: LoadOptions{Profile: "p"}, line: 1, key: "profiles.p.client_id", msg: "no client_id", hint: "AZURE_CLIENT_ID"},
		{name: "missing tenant env only", env: map[string]string{"AZURE_CLIENT_ID": clientID}, key: "profiles.default.tenant", msg: "no tenant", hint: "/.config/m365send/config.toml; `m365send init` makes one"},
		{name: "no file and no profile in the environment", env: map[string]string{"M365SEND_MAILBOX": "a@contoso.com"},
			msg: "no configuration file at /", hint: "create one with `m365send init`", notHint: "tenant in"},
		{name: "no profile selected", file: withSecret(""), key: "profiles.default.tenant", hint: "no profile selected: name one, or set $M365SEND_PROFILE"},
		{name: "secret and certificate both set", file: withSecret("certificate_file = \"CERT\"\n"), opts: LoadOptions{Profile: "p"}, line: 5,
			msg: "a client secret and a certificate are both set (profiles.p.client_secret_env and profiles.p.certificate_file)", hint: "keep exactly one"},
		{name: "env secret and certificate both set", env: map[string]string{"AZURE_TENANT_ID": tenantID, "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_SECRET": "sekrit-value", "AZURE_CLIENT_CERTIFICATE_PATH": "/x.pem"},
			msg: "both set"},
		{name: "two secret sources", file: withSecret("client_secret_command = [\"pass\", \"x\"]\n"), opts: LoadOptions{Profile: "p"}, msg: "two client credentials are both set"},
		{name: "malformed client id", file: "[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"my-app\"\nclient_secret_env = \"S\"\n", opts: LoadOptions{Profile: "p"},
			line: 3, key: "profiles.p.client_id", msg: `malformed client_id "my-app": not a GUID`},
		{name: "malformed client id from env", file: withSecret(""), env: map[string]string{"AZURE_CLIENT_ID": "1234"}, opts: LoadOptions{Profile: "p"},
			key: "AZURE_CLIENT_ID", msg: "not a GUID"},
		{name: "malformed tenant", file: "[profiles.p]\ntenant = \"contoso\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n", opts: LoadOptions{Profile: "p"},
			line: 2, msg: `malformed tenant "contoso"`},
		{name: "common tenant for app", file: "[profiles.p]\ntenant = \"common\"\nclient_id = \"" + clientID + "\"\nclient_secret_env = \"S\"\n", opts: LoadOptions{Profile: "p"},
			msg: "AADSTS9001023"},
		{name: "malformed mailbox", file: withSecret("mailbox = \"Alerts <alerts@contoso.com>\"\n"), opts: LoadOptions{Profile: "p"}, line: 5, key: "profiles.p.mailbox", msg: "malformed mailbox"},
		{name: "malformed mailbox no at", file: withSecret("mailbox = \"alerts\"\n"), opts: LoadOptions{Profile: "p"}, msg: "malformed mailbox"},
		{name: "port 465", file: withSecret("smtp_port = 465\n"), opts: LoadOptions{Profile: "p"}, line: 5, key: "profiles.p.smtp_port", msg: "465",
			hint: "Office 365 doesn't support 465; use 587 STARTTLS"},
		{name: "port 465 from env", file: withSecret(""), env: map[string]string{"M365SEND_SMTP_PORT": "465"}, opts: LoadOptions{Profile: "p"}, key: "M365SEND_SMTP_PORT",
			hint: "use 587 STARTTLS"},
		{name: "port not a number in env", file: withSecret(""), env: map[string]string{"M365SEND_SMTP_PORT": "five"}, opts: LoadOptions{Profile: "p"}, key: "M365SEND_SMTP_PORT", msg: "malformed smtp_port"},
		{name: "port with wrong type", file: withSecret("smtp_port = \"587\"\n"), opts: LoadOptions{Profile: "p"}, line: 5, key: "profiles.p.smtp_port", msg: "wrong type"},
		{name: "unknown cloud", file: withSecret("cloud = \"globl\"\n"), opts: LoadOptions{Profile: "p"}, line: 5, msg: `unknown cloud "globl"`, hint: `did you mean "global"?`},
		{name: "unknown cloud far off", file: withSecret("cloud = \"azure-germany\"\n"), opts: LoadOptions{Profile: "p"}, hint: "global, usgov, usgovdod, china"},
		{name: "unknown flow", file: withSecret("flow = \"device-code\"\n"), opts: LoadOptions{Profile: "p"}, msg: "unknown flow", hint: `"device_code"`},
		{name: "syntax error", file: "[profiles.p]\ntenant = \"x\nclient_id = 1\n", line: 2},
		{name: "config readable by others", file: withSecret(""), mode: 0o644, msg: "accessible by others (mode 0644)", hint: "chmod 640 "},
		{name: "config writable by group", file: withSecret(""), mode: 0o660, msg: "written by its group (mode 0660)", hint: "chmod 640 "},
		{name: "config with password hashes readable by group", file: withSecret("") + "\n[relay]\n# password_hash\n", mode: 0o640, msg: "password_hash", hint: "chmod 600 "},
		{name: "secret file readable by others", file: profile("client_secret_file = \"SECRET:644\"\n"), opts: LoadOptions{Profile: "p"}, msg: "client secret file is accessible", hint: "chmod 600 "},
		{name: "certificate file readable by others", file: profile("certificate_file = \"CERT:644\"\n"), opts: LoadOptions{Profile: "p"}, msg: "certificate file", hint: "chmod 600 "},
		{name: "certificate file missing", file: profile("certificate_file = \"/nonexistent/app.pem\"\n"), opts: LoadOptions{Profile: "p"}, msg: "no such file"},
		{name: "certificate env readable", env: map[string]string{"AZURE_TENANT_ID": tenantID, "AZURE_CLIENT_ID": clientID, "AZURE_CLIENT_CERTIFICATE_PATH": "CERT:644"}, hint: "chmod 600 "},
		{name: "no credential", file: profile("flow = \"client_credentials\"\n"), opts: LoadOptions{Profile: "p"}, line: 1, key: "profiles.p", msg: "no client credential", hint: "certificate_file"},
		{name: "device code with certificate", file: profile("flow = \"device_code\"\ncertificate_file = \"CERT\"\n"), opts: LoadOptions{Profile: "p"}, line: 5, msg: "take no client credential"},
		{name: "default_profile names a missing profile", file: "default_profile = \"q\"\n" + withSecret(""), line: 1, key: "default_profile", msg: `no profile "q"`, hint: "profiles in"},
		{name: "default_profile with a typo", file: "default_profile = \"alertz\"\n[profiles.alerts]\nclient_secret_env = \"S\"\n", line: 1, hint: `did you mean "alerts"?`},
		{name: "unknown key in another profile", file: withSecret("") + "[profiles.other]\nclient_idd = \"x\"\n", opts: LoadOptions{Profile: "p"}, line: 6, key: "profiles.other.client_idd", hint: `did you mean "client_id"?`},
		{name: "--profile names a missing profile", file: withSecret(""), opts: LoadOptions{Profile: "prod"}, key: "--profile", msg: `no profile "prod"`, hint: "profiles in"},
		{name: "M365SEND_PROFILE names a missing profile", file: withSecret(""), env: map[string]string{"M365SEND_PROFILE": "x"}, key: "M365SEND_PROFILE", msg: `no profile "x"`},
		{name: "named config file missing", opts: LoadOptions{File: "/nonexistent/m365send.toml"}, msg: "cannot read configuration"},
		{name: "M365SEND_CONFIG missing", env: map[string]string{"M365SEND_CONFIG": "/nonexistent/c.toml"}, msg: "/nonexistent/c.toml"},
		{name: "authority over http", file: withSecret("authority_host = \"http://login.example.net\"\n"), opts: LoadOptions{Profile: "p"}, msg: "only reached over https"},
		{name: "smtp host with port", file: withSecret("smtp_host = \"smtp.office365.com:587\"\n"), opts: LoadOptions{Profile: "p"}, hint: "smtp_port"},
		{name: "ca file without certificates", file: withSecret("ca_file = \"CA\"\n"), files: map[string]string{"CA": "not a pem"}, opts: LoadOptions{Profile: "p"}, msg: "holds no PEM certificate"},
		{name: "client_secret_env holding the secret itself", file: profile("client_secret_env = \"abc~DEF.ghi-jkl_mno~pqr.stu-vwx\"\n"), env: map[string]string{}, opts: LoadOptions{Profile: "p"},
			msg: "not an environment variable name"},
		{name: "rate not a number", file: withSecret(""), env: map[string]string{"M365SEND_RATE_PER_MINUTE": "lots"}, opts: LoadOptions{Profile: "p"}, key: "M365SEND_RATE_PER_MINUTE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			sub := func(s string) string {
				for name := range tc.files {
					s = strings.ReplaceAll(s, "\""+name+"\"", "\""+filepath.Join(f.dir, name)+"\"")
				}
				for _, name := range []string{"CERT:644", "SECRET:644", "CERT", "CA"} {
					quoted := strings.Contains(s, "\""+name+"\"")
					if !quoted && s != name {
						continue
					}
					base := strings.TrimSuffix(name, ":644")
					real := filepath.Join(f.dir, base)
					mode := os.FileMode(0o600)
					if strings.HasSuffix(name, ":644") {
						mode = 0o644
					}
					if _, ok := tc.files[name]; !ok {
						content := "x"
						if name == "CA" {
							content = string(ca.CertPEM)
						}
						f.write(base, content, mode)
					}
					if quoted {
						s = strings.ReplaceAll(s, "\""+name+"\"", "\""+real+"\"")
					} else {
						s = real
					}
				}
				return s
			}
			for name, content := range tc.files {
				f.write(name, content, 0o600)
			}
			if tc.file != "" {
				path := f.config(sub(tc.file))
				if tc.mode != 0 {
					if err := os.Chmod(path, tc.mode); err != nil {
						t.Fatal(err)
					}
				}
			}
			for k, v := range tc.env {
				f.env[k] = sub(v)
			}
			_, err := f.load(tc.opts)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			if tc.line != 0 && ce.Line != tc.line {
				t.Errorf("Line = %d, want %d (%v)", ce.Line, tc.line, err)
			}
			if tc.key != "" && ce.Key != tc.key {
				t.Errorf("Key = %q, want %q (%v)", ce.Key, tc.key, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Error() = %q, want it to contain %q", err, tc.msg)
			}
			if !strings.Contains(ce.Hint(), tc.hint) {
				t.Errorf("Hint = %q, want it to contain %q", ce.Hint(), tc.hint)
			}
			if tc.notHint != "" && strings.Contains(ce.Hint(), tc.notHint) {
				t.Errorf("Hint = %q, want it without %q", ce.Hint(), tc.notHint)
			}
			if tc.line != 0 && !strings.HasPrefix(err.Error(), f.file+":") {
				t.Errorf("Error() = %q, want it to start with the file name", err)
			}
			for _, secret := range []string{"hunter2-literal", "sekrit-value", "pqr.stu-vwx"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(ce.Hint(), secret) {
					t.Errorf("error leaks a secret: %v / %s", err, ce.Hint())
				}
			}
		})
	}
}

func TestChmodHintNamesTheFile(t *testing.T) {
	f := newFixture(t)
	path := f.write("my config.toml", "", 0o604)
	_, err := f.load(LoadOptions{File: path})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if want := "chmod 640 '" + path + "'"; !strings.HasPrefix(ce.Hint(), want) {
		t.Errorf("Hint = %q, want %q", ce.Hint(), want)
	}
}

func TestDeviceCodeIgnoresEnvCredential(t *testing.T) {
	f := newFixture(t)
	f.config("[profiles.me]\nflow = \"device_code\"\ntenant = \"organizations\"\nclient_id = \"" + clientID + "\"\n")
	f.env["AZURE_CLIENT_SECRET"] = "for-another-tool"
	p, err := f.load(LoadOptions{Profile: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := p.Secret(context.Background()); s != "" || err != nil {
		t.Errorf("Secret = %q, %v; want none for device code", s, err)
	}
	if p.Flow != FlowDeviceCode || p.Mailbox != "" {
		t.Errorf("profile %+v", *p)
	}
}

func TestSecret(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     string // profile line
		files   map[string]string
		env     map[string]string
		want    string
		errMsg  string
		timeout time.Duration
	}{
		{name: "env", key: `client_secret_env = "APP_SECRET"`, env: map[string]string{"APP_SECRET": "from-env\n"}, want: "from-env"},
		{name: "env unset", key: `client_secret_env = "APP_SECRET"`, errMsg: "APP_SECRET (named by client_secret_env) is empty or not set"},
		{name: "file", key: `client_secret_file = "SECRETFILE"`, files: map[string]string{"SECRETFILE": "from-file\n"}, want: "from-file"},
		{name: "empty file", key: `client_secret_file = "SECRETFILE"`, files: map[string]string{"SECRETFILE": "\n"}, errMsg: "client secret file is empty"},
		{name: "command", key: `client_secret_command = ["echo", "from-command"]`, want: "from-command"},
		{name: "command without shell", key: `client_secret_command = ["echo", "$HOME;x|y"]`, want: "$HOME;x|y"},
		{name: "command fails", key: `client_secret_command = ["sh", "-c", "echo locked >&2; exit 3"]`, errMsg: "sh failed: exit status 3"},
		{name: "command not found", key: `client_secret_command = ["/nonexistent/vault-reader"]`, errMsg: "/nonexistent/vault-reader"},
		{name: "command prints nothing", key: `client_secret_command = ["true"]`, errMsg: "printed nothing"},
		{name: "command times out", key: `client_secret_command = ["sleep", "30"]`, timeout: 50 * time.Millisecond, errMsg: "did not finish within 50ms"},
		{name: "certificate", key: `certificate_file = "CERTFILE"`, files: map[string]string{"CERTFILE": string(certAndKeyPEM(t))}, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			line := tc.key
			for name, content := range tc.files {
				path := f.write(name, content, 0o600)
				line = strings.ReplaceAll(line, name, path)
			}
			for k, v := range tc.env {
				f.env[k] = v
			}
			f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" + line + "\n")
			p, err := f.load(LoadOptions{Profile: "p"})
			if err != nil {
				t.Fatal(err)
			}
			p.secretTimeout = tc.timeout
			got, err := p.Secret(context.Background())
			if tc.errMsg != "" {
				var ce *Error
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.errMsg) {
					t.Fatalf("Secret error = %v, want *Error containing %q", err, tc.errMsg)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Secret = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestSecretFileModeCheckedAgainAtUse(t *testing.T) {
	f := newFixture(t)
	secret := f.write("secret", "s3cr3t-value", 0o600)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_file = \"" + secret + "\"\n")
	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = p.Secret(context.Background())
	var ce *Error
	if !errors.As(err, &ce) || ce.Hint() != "chmod 600 "+secret {
		t.Fatalf("err = %v (hint %q)", err, ce.Hint())
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

// caProfile loads an environment-only profile whose ca_file holds a fresh
// test CA.
func caProfile(t *testing.T) (ca *testca.CA, caFile string, p *Profile) {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	caFile = f.write("ca.pem", string(ca.CertPEM), 0o644)
	f.env["AZURE_TENANT_ID"] = tenantID
	f.env["AZURE_CLIENT_ID"] = clientID
	f.env["M365SEND_CA_FILE"] = caFile
	p, err = f.load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ca, caFile, p
}

// wantTrusted checks that ca's server certificate verifies against pool.
func wantTrusted(t *testing.T, ca *testca.CA, pool *x509.CertPool) {
	t.Helper()
	cert, err := parseCert(ca.ServerCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(verifyOpts(pool)); err != nil {
		t.Errorf("the test CA's server certificate does not verify against RootCAs: %v", err)
	}
}

func TestRootCAs(t *testing.T) {
	ca, _, p := caProfile(t)
	pool, err := p.RootCAs()
	if err != nil {
		t.Fatal(err)
	}
	wantTrusted(t, ca, pool)
}

func TestCacheFileName(t *testing.T) {
	for in, want := range map[string]string{
		"alerts": "alerts.json", "a/b": "a%2Fb.json", "..": "%2E..json", "ops.eu-1": "ops.eu-1.json",
		"a b": "a%20b.json", "a_b": "a_b.json", "a%20b": "a%2520b.json", "": "%.json", "é": "%C3%A9.json",
	} {
		if got := cacheFileName(in); got != want {
			t.Errorf("cacheFileName(%q) = %q, want %q", in, got, want)
		}
	}
	// Injective: distinct names, distinct files (issue: "a b" and "a_b"
	// shared one, so logging out one deleted the other's tokens).
	seen := map[string]string{}
	for _, n := range []string{"a b", "a_b", "a/b", "a%2Fb", "a.b", ".ab", "%2Eab", "", "%", "_", "a\x00b", "a\x01b"} {
		f := cacheFileName(n)
		if prev, dup := seen[f]; dup {
			t.Errorf("profiles %q and %q share %s", prev, n, f)
		}
		seen[f] = n
		if strings.HasPrefix(f, ".") || strings.ContainsAny(f, "/\x00") {
			t.Errorf("%q -> %q is not a plain file name", n, f)
		}
	}
	if (&Profile{Name: "x"}).CacheFile() != "" {
		t.Error("no cache dir should mean no cache file")
	}
}

func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tenat", `did you mean "tenant"?`},
		{"clientid", `did you mean "client_id"?`},
		{"mailbx", `did you mean "mailbox"?`},
		{"smtp_prot", `did you mean "smtp_port"?`},
		{"zzzzzzzz", ""},
		{"x", ""},
	} {
		if got := suggest.DidYouMean(tc.in, configkey.FileKeys(), suggest.TypoLimit(tc.in)); got != tc.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKeyLines(t *testing.T) {
	doc := "# c\ndefault_profile = \"a\"\n\n[profiles.a]\ntenant = \"t\"\n  mailbox=\"m\"\nnote = \"\"\"\nx = 1\n\"\"\"\n[profiles.\"b.c\"]\nclient_id = \"x\"\n"
	got := tomlscan.KeyLines([]byte(doc))
	want := map[string]int{"default_profile": 2, "profiles.a": 4, "profiles.a.tenant": 5, "profiles.a.mailbox": 6, "profiles.a.note": 7, "profiles.b.c": 10, "profiles.b.c.client_id": 11}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("keyLines = %v, want %v", got, want)
	}
}

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }

func verifyOpts(pool *x509.CertPool) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: pool, DNSName: "localhost"}
}

func TestRootCAsUsesTheCertificatesLoadRead(t *testing.T) {
	ca, caFile, p := caProfile(t)
	// Load read and parsed ca_file: RootCAs does not read it again.
	if err := os.Remove(caFile); err != nil {
		t.Fatal(err)
	}
	pool, err := p.RootCAs()
	if err != nil {
		t.Fatalf("RootCAs after ca_file was removed: %v", err)
	}
	wantTrusted(t, ca, pool)
	// A Profile built by hand has only the path, which RootCAs reads.
	var ce *Error
	if _, err := (&Profile{CAFile: caFile}).RootCAs(); !errors.As(err, &ce) || ce.Key != "ca_file" {
		t.Errorf("RootCAs of a hand-built profile with a missing ca_file: err = %v, want a ca_file *Error", err)
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"smtp.office365.com":                "smtp.office365.com",
		" SMTP.Office365.com. ":             "SMTP.Office365.com",
		"login.microsoftonline.us:443":      "login.microsoftonline.us",
		"https://login.microsoftonline.us/": "login.microsoftonline.us",
		"https://127.0.0.1:8443/x?y#z":      "127.0.0.1",
		"https://user@login.example.com/":   "login.example.com",
		"[::1]:587":                         "::1",
		"::1":                               "::1",
	} {
		if got := HostOf(in); got != want {
			t.Errorf("HostOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/m365send/config.toml": "/etc/m365send/config.toml",
		"a-b_c.d:e@f%g,h=i+j":       "a-b_c.d:e@f%g,h=i+j",
		"":                          "''",
		"/tmp/my dir":               "'/tmp/my dir'",
		"it's":                      `'it'\''s'`,
		"$HOME":                     "'$HOME'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
