package relay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

func TestDecodeDefaults(t *testing.T) {
	c, err := Decode("c.toml", []byte("default_profile = \"x\"\n[profiles.x]\nmailbox = \"a@b.c\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].Address != DefaultListen || c.Listeners[0].MinTLS != "1.2" || c.Listeners[0].ImplicitTLS {
		t.Errorf("listeners %+v", c.Listeners)
	}
	if c.MaxSize != 35*1024*1024 || c.MaxRecipients != 500 || c.MaxConnectionsPerClient != DefaultMaxConnectionsPerClient {
		t.Errorf("limits %d %d %d", c.MaxSize, c.MaxRecipients, c.MaxConnectionsPerClient)
	}
	if time.Duration(c.ReadTimeout) != 5*time.Minute || time.Duration(c.WriteTimeout) != 5*time.Minute {
		t.Errorf("timeouts %v %v", c.ReadTimeout, c.WriteTimeout)
	}
	if time.Duration(c.ShutdownGrace) != DefaultGrace {
		t.Errorf("shutdown_grace %v, want %v", c.ShutdownGrace, DefaultGrace)
	}
	if err := Check(c, []string{"x"}); err != nil {
		t.Errorf("Check of the defaults: %v", err)
	}
}

func TestDecodeListeners(t *testing.T) {
	c, err := Decode("c.toml", []byte(`
[relay]
listen = ["127.0.0.1:25"]
listen_tls = ["127.0.0.1:465"]
read_timeout = "90s"
[[relay.listeners]]
address = "[::1]:2526"
min_tls = "1.0"
allow_plaintext_auth = ["lan"]
[[relay.networks]]
name = "lan"
cidr = ["10.0.0.0/8", "192.0.2.7"]
profiles = ["x"]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, l := range c.Listeners {
		got = append(got, l.Address+" "+l.MinTLS+" "+map[bool]string{true: "tls", false: "starttls"}[l.ImplicitTLS])
	}
	if strings.Join(got, "|") != "[::1]:2526 1.0 starttls|127.0.0.1:25 1.2 starttls|127.0.0.1:465 1.2 tls" {
		t.Errorf("listeners %q", got)
	}
	if time.Duration(c.ReadTimeout) != 90*time.Second {
		t.Errorf("read_timeout %v", c.ReadTimeout)
	}
	if err := Check(c, []string{"x"}); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestDecodeRefusesUnknownKey(t *testing.T) {
	_, err := Decode("c.toml", []byte("[relay]\nlisten = [\"127.0.0.1:25\"]\nmax_sise = 10\n"))
	if err == nil || !strings.Contains(err.Error(), "max_sise") || failure.KindOf(err) != failure.Config {
		t.Fatalf("err %v (kind %v), want a Config error naming max_sise", err, failure.KindOf(err))
	}
	_, err = Decode("c.toml", []byte("[relay]\nread_timeout = \"soon\"\n"))
	if err == nil || failure.KindOf(err) != failure.Config {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	hash := testHash(t, "pw")
	tests := []struct {
		name, toml string
		want       string // "" for no error
	}{
		{"loopback without users", `listen = ["127.0.0.1:2525", "localhost:2526"]`, ""},
		{"open relay", `listen = ["0.0.0.0:25"]`, "open relay"},
		{"open relay, implicit TLS", `listen_tls = ["[::]:465"]`, "open relay"},
		{"open relay by network", "listen = [\"0.0.0.0:25\"]\n[[relay.networks]]\nname = \"all\"\ncidr = [\"0.0.0.0/0\"]\nprofiles = [\"office\"]", "open relay"},
		{"reachable with a user", "listen = [\"0.0.0.0:25\"]\n[[relay.users]]\nname = \"u\"\npassword_hash = \"" + hash + "\"\nprofiles = [\"office\"]", ""},
		{"unhashed password", "[[relay.users]]\nname = \"u\"\npassword_hash = \"hunter2\"\nprofiles = [\"office\"]", "not an argon2id hash"},
		{"no password", "[[relay.users]]\nname = \"u\"\nprofiles = [\"office\"]", "no password_hash"},
		{"unknown profile", "[[relay.users]]\nname = \"u\"\npassword_hash = \"" + hash + "\"\nprofiles = [\"offce\"]", `profile "offce" does not exist`},
		{"network unknown profile", "[[relay.networks]]\nname = \"n\"\ncidr = [\"10.0.0.0/8\"]\nprofiles = [\"nope\"]", `profile "nope" does not exist`},
		{"rewrite_from not a profile of its own", "[[relay.users]]\nname = \"u\"\npassword_hash = \"" + hash + "\"\nprofiles = [\"office\"]\nrewrite_from = \"sales\"", "rewrite_from"},
		{"missing certificate", "tls_cert_file = \"" + filepath.Join(dir, "nope.pem") + "\"\ntls_key_file = \"" + filepath.Join(dir, "nope.key") + "\"", "certificate"},
		{"half a certificate", "tls_cert_file = \"x.pem\"", "only one of"},
		{"bad cidr", "[[relay.networks]]\nname = \"n\"\ncidr = [\"10.0.0/8\"]\nprofiles = [\"office\"]", "bad cidr"},
		{"plaintext for unknown network", "[[relay.listeners]]\naddress = \"127.0.0.1:25\"\nallow_plaintext_auth = [\"lan\"]", "unknown network"},
		{"metrics listener", `metrics_listen = "127.0.0.1:9465"`, ""},
		{"bad metrics listener", `metrics_listen = "9465"`, "metrics_listen"},
		{"bad min_tls", "[[relay.listeners]]\naddress = \"127.0.0.1:25\"\nmin_tls = \"1.4\"", "min_tls"},
		{"shutdown_grace", `shutdown_grace = "10m"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode("c.toml", []byte("[relay]\n"+tc.toml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			err = Check(c, []string{"office", "sales"})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want %q", err, tc.want)
			}
			if failure.KindOf(err) != failure.Config {
				t.Errorf("kind %v, want Config", failure.KindOf(err))
			}
		})
	}
}

func TestCheckAcceptsCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	c, _ := Decode("c.toml", nil)
	c.Hostname = "relay.test"
	if _, _, err := Certificate(c, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	c.TLSCertFile = filepath.Join(dir, GeneratedCertFile)
	c.TLSKeyFile = filepath.Join(dir, GeneratedKeyFile)
	if err := Check(c, nil); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := os.WriteFile(c.TLSKeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(c, nil); err == nil {
		t.Fatal("Check accepted a garbage key")
	}
}

// TestDecodeResolvesCertificatePaths checks that tls_cert_file and
// tls_key_file mean what every other path in the file means: relative to
// the file's folder and "~/" the home folder, whatever the working
// directory of the relay's service manager; an absolute path stays.
func TestDecodeResolvesCertificatePaths(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, tc := range []struct{ cert, key, wantCert, wantKey string }{
		{"relay.pem", "keys/relay.key", "/etc/m365send/relay.pem", "/etc/m365send/keys/relay.key"},
		{"~/relay.pem", "../relay.key", filepath.Join(home, "relay.pem"), "/etc/relay.key"},
		{"/srv/tls/relay.pem", "/srv/tls/relay.key", "/srv/tls/relay.pem", "/srv/tls/relay.key"},
		{"", "", "", ""},
	} {
		c, err := Decode("/etc/m365send/config.toml", []byte("[relay]\ntls_cert_file = \""+tc.cert+"\"\ntls_key_file = \""+tc.key+"\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if c.TLSCertFile != tc.wantCert || c.TLSKeyFile != tc.wantKey {
			t.Errorf("tls_cert_file %q, tls_key_file %q: got %q and %q, want %q and %q", tc.cert, tc.key, c.TLSCertFile, c.TLSKeyFile, tc.wantCert, tc.wantKey)
		}
	}
}
