package config

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/testca"
)

// TestKeyTable checks that the one key table is complete and
// consistent: every key has a type and a doc line, names and variables are
// unique, and every key really is read from the file and the environment.
func TestKeyTable(t *testing.T) {
	names, vars := map[string]bool{}, map[string]bool{}
	for _, k := range Keys() {
		if names[k.Name] {
			t.Errorf("key %s twice", k.Name)
		}
		names[k.Name] = true
		if k.Env != "" {
			if vars[k.Env] {
				t.Errorf("variable %s twice", k.Env)
			}
			vars[k.Env] = true
			if !strings.HasPrefix(k.Env, "M365SEND_") && !strings.HasPrefix(k.Env, "AZURE_") {
				t.Errorf("%s: variable %s is neither M365SEND_* nor azidentity's AZURE_*", k.Name, k.Env)
			}
		}
		if k.Doc == "" || strings.Contains(k.Doc, "\n") {
			t.Errorf("%s: doc %q, want one line", k.Name, k.Doc)
		}
		switch k.Type {
		case TypeString, TypeInteger, TypeArgv, TypeBool:
		default:
			t.Errorf("%s: type %q", k.Name, k.Type)
		}
		if k.EnvOnly && (k.Env == "" || k.Type != TypeString) {
			t.Errorf("%s: an environment-only key needs a variable and a string value", k.Name)
		}
	}
	b := &builder{}
	for _, k := range Keys() {
		if b.step(k.Name) == nil {
			t.Errorf("%s: no step in build.go", k.Name)
		}
	}
	if !vars["AZURE_CLIENT_SECRET"] || names["profiles"] {
		t.Errorf("table: %v", names)
	}
	if got := Variables()[:2]; got[0] != "M365SEND_CONFIG" || got[1] != "M365SEND_PROFILE" {
		t.Errorf("Variables starts %v", got)
	}
}

// TestEveryKeyLoads sets each key in the file and, where it has one, in
// its variable, and checks the value reaches the profile: nothing about a
// key is written outside the table.
func TestEveryKeyLoads(t *testing.T) {
	values := map[string]struct{ toml, env string }{
		"flow":                     {`"client_credentials"`, "client_credentials"},
		"tenant":                   {`"contoso.onmicrosoft.com"`, "contoso.onmicrosoft.com"},
		"client_id":                {`"` + clientID + `"`, clientID},
		"client_secret":            {"", "the-secret"},
		"client_secret_env":        {`"APP_SECRET"`, ""},
		"client_secret_file":       {`"SECRETFILE"`, "SECRETFILE"},
		"client_secret_keyring":    {"true", ""},
		"client_secret_command":    {`["echo", "x"]`, ""},
		"certificate_file":         {`"CERTFILE"`, "CERTFILE"},
		"certificate_password":     {"", "pfx-password"},
		"certificate_password_env": {`"CERT_PW"`, ""},
		"federated_token_file":     {`"TOKENFILE"`, "TOKENFILE"},
		"mailbox":                  {`"a@contoso.com"`, "a@contoso.com"},
		"from_name":                {`"Alerts"`, "Alerts"},
		"cloud":                    {`"usgov"`, "usgov"},
		"smtp_host":                {`"smtp.example.net"`, "smtp.example.net"},
		"smtp_port":                {"2525", "2525"},
		"authority_host":           {`"login.example.net"`, "login.example.net"},
		"azure_authority_host":     {"", "https://login.example.net/"},
		"ca_file":                  {`"CAFILE"`, "CAFILE"},
		"rate_per_minute":          {"12", "12"},
		"token_store":              {`"keyring"`, "keyring"},
		"cache_dir":                {`"/c"`, "/c"},
		"transport":                {`"graph"`, "auto"},
		"graph_url":                {`"https://127.0.0.1:8443/v1.0"`, "https://graph.example.net/v1.0"},
		"on_login_required":        {`["echo", "x"]`, ""},
	}
	certPEM := string(certAndKeyPEM(t))
	for _, k := range Keys() {
		v, ok := values[k.Name]
		if !ok {
			t.Errorf("%s: no test value", k.Name)
			continue
		}
		for _, how := range []string{"file", "env"} {
			if how == "file" && k.EnvOnly || how == "env" && k.Env == "" {
				continue
			}
			t.Run(k.Name+"/"+how, func(t *testing.T) {
				f := newFixture(t)
				files := map[string]string{
					"SECRETFILE": f.write("secret", "s", 0o600),
					"CERTFILE":   f.write("app.pem", certPEM, 0o600),
					"TOKENFILE":  f.write("token", "t", 0o600),
					"CAFILE":     f.write("ca.pem", string(newCA(t)), 0o644),
				}
				sub := func(s string) string {
					for name, path := range files {
						s = strings.ReplaceAll(s, name, path)
					}
					return s
				}
				lines := "tenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n"
				switch {
				case strings.HasPrefix(k.Name, "certificate_password"):
					// A password needs a certificate (a PEM file ignores it).
					lines += "certificate_file = \"" + files["CERTFILE"] + "\"\n"
					f.env["CERT_PW"] = "pfx-password"
				case !k.SecretRef:
					lines += "client_secret_env = \"S\"\n"
				}
				if k.Name == "tenant" || k.Name == "client_id" {
					lines = regexp.MustCompile(`(?m)^`+k.Name+` = .*\n`).ReplaceAllString(lines, "")
				}
				if how == "file" {
					lines += k.Name + " = " + sub(v.toml) + "\n"
				} else {
					f.env[k.Env] = sub(v.env)
				}
				f.config("[profiles.p]\n" + lines)
				p, err := f.load(LoadOptions{Profile: "p"})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{
					"flow": p.Flow, "tenant": p.Tenant, "client_id": p.ClientID, "client_secret": p.clientSecret,
					"client_secret_env": p.ClientSecretEnv, "client_secret_file": p.ClientSecretFile,
					"client_secret_command": strings.Join(p.ClientSecretCommand, " "), "client_secret_keyring": strconv.FormatBool(p.ClientSecretKeyring), "certificate_file": p.CertificateFile,
					"certificate_password": p.certificatePassword, "certificate_password_env": p.CertificatePasswordEnv,
					"federated_token_file": p.FederatedTokenFile, "mailbox": p.Mailbox, "from_name": p.FromName, "cloud": p.Cloud,
					"smtp_host": p.SMTPHost, "smtp_port": itoa(p.SMTPPort), "authority_host": p.AuthorityHost, "azure_authority_host": p.AuthorityHost, "ca_file": p.CAFile,
					"rate_per_minute": itoa(p.RatePerMinute), "cache_dir": p.CacheDir, "token_store": p.TokenStore,
					"transport": p.Transport, "graph_url": p.GraphURL,
					"on_login_required": strings.Join(p.OnLoginRequired, " "),
				}[k.Name]
				want := sub(v.env)
				if how == "file" {
					want = strings.Trim(sub(v.toml), `"`)
					if k.Type == TypeArgv {
						want = "echo x"
					}
				}
				if got != want {
					t.Errorf("%s from the %s: got %q, want %q", k.Name, how, got, want)
				}
			})
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// newCA is a CA certificate in PEM.
func newCA(t testing.TB) []byte {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	return ca.CertPEM
}

// TestRequiredKeys checks that a profile without a Required key is
// refused, naming the key, and that the other keys may be left out.
func TestRequiredKeys(t *testing.T) {
	for _, k := range Keys() {
		f := newFixture(t)
		lines := "tenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n"
		lines = regexp.MustCompile(`(?m)^`+k.Name+` = .*\n`).ReplaceAllString(lines, "")
		f.config("[profiles.p]\n" + lines)
		_, err := f.load(LoadOptions{Profile: "p"})
		var ce *Error
		if k.Required != (err != nil) {
			t.Errorf("%s (required %v) left out: err = %v", k.Name, k.Required, err)
		} else if k.Required && (!errors.As(err, &ce) || ce.Key != "profiles.p."+k.Name) {
			t.Errorf("%s left out: err = %v, want one at profiles.p.%s", k.Name, err, k.Name)
		}
	}
}
