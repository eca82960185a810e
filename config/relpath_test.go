package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/m365send/m365send/internal/testca"
)

// TestRelativePathsResolveAgainstTheFile checks that the file's paths
// mean the same whatever the working directory: relative to the file's
// folder, "~/" the home folder; a path from the environment is taken as
// it is.
func TestRelativePathsResolveAgainstTheFile(t *testing.T) {
	f := newFixture(t)
	f.write(".config/m365send/keys/app.pem", string(certAndKeyPEM(t)), 0o600)
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	f.write("ca.pem", string(ca.CertPEM), 0o600)
	f.config("queue = \"spool\"\naliases_file = \"~/aliases\"\n[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
		"certificate_file = \"keys/app.pem\"\nca_file = \"~/ca.pem\"\ncache_dir = \"../cache\"\n" +
		"[profiles.cmd]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
		"client_secret_command = [\"./bin/secret\", \"relative/arg\"]\n" +
		"on_login_required = [\"bin/notify\", \"m365send\"]\n" +
		"[profiles.path]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\n" +
		"client_secret_command = [\"pass\", \"show\"]\n")
	other := t.TempDir()
	t.Chdir(other)
	dir := filepath.Join(f.dir, ".config", "m365send")

	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "keys", "app.pem"); p.CertificateFile != want {
		t.Errorf("CertificateFile = %q, want %q", p.CertificateFile, want)
	}
	if want := filepath.Join(f.dir, "ca.pem"); p.CAFile != want {
		t.Errorf("CAFile = %q, want %q", p.CAFile, want)
	}
	if want := filepath.Join(f.dir, ".config", "cache"); p.CacheDir != want {
		t.Errorf("CacheDir = %q, want %q", p.CacheDir, want)
	}

	p, err = f.load(LoadOptions{Profile: "cmd"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "bin", "secret"), "relative/arg"}; !slices.Equal(p.ClientSecretCommand, want) {
		t.Errorf("ClientSecretCommand = %q, want %q", p.ClientSecretCommand, want)
	}
	if want := []string{filepath.Join(dir, "bin", "notify"), "m365send"}; !slices.Equal(p.OnLoginRequired, want) {
		t.Errorf("OnLoginRequired = %q, want %q", p.OnLoginRequired, want)
	}
	p, err = f.load(LoadOptions{Profile: "path"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pass", "show"}; !slices.Equal(p.ClientSecretCommand, want) {
		t.Errorf("a command found on $PATH became %q, want %q", p.ClientSecretCommand, want)
	}

	g, err := LoadGlobals(LoadOptions{Env: f.getenv})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "spool"); g.Queue != want {
		t.Errorf("Queue = %q, want %q", g.Queue, want)
	}
	if want := filepath.Join(f.dir, "aliases"); g.AliasesFile != want {
		t.Errorf("AliasesFile = %q, want %q", g.AliasesFile, want)
	}

	// The environment's paths are the caller's: relative to the working
	// directory, as the shell that set them means.
	if err := os.WriteFile(filepath.Join(other, "env.pem"), certAndKeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	f.env["AZURE_CLIENT_CERTIFICATE_PATH"] = "env.pem"
	p, err = f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if p.CertificateFile != "env.pem" {
		t.Errorf("CertificateFile from the environment = %q, want it as given", p.CertificateFile)
	}
}
