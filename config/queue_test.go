package config

import (
	"os"
	"path/filepath"
	"testing"
)

// The queue key takes a folder (relative to the file's) or a postgres://
// URL as it is; $M365SEND_QUEUE overrides it and is a known variable.
func TestQueueIsAFolderOrADatabase(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	load := func(content string, env map[string]string) *Globals {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		var environ []string
		for k, v := range env {
			environ = append(environ, k+"="+v)
		}
		g, err := LoadGlobals(LoadOptions{File: file, Env: func(k string) string { return env[k] }, Environ: environ})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := load(`queue = "spool"`+"\n", nil); g.Queue != filepath.Join(dir, "spool") {
		t.Errorf("relative folder: %q", g.Queue)
	}
	url := "postgres://m365send@db.contoso.com/m365send?sslmode=verify-full"
	if g := load(`queue = "`+url+`"`+"\n", nil); g.Queue != url {
		t.Errorf("database URL: %q, want it as written", g.Queue)
	}
	if g := load(`queue = "spool"`+"\n", map[string]string{"M365SEND_QUEUE": "postgresql://other/db"}); g.Queue != "postgresql://other/db" {
		t.Errorf("$M365SEND_QUEUE over the key: %q", g.Queue)
	}
}
