package main

// Tests of issue 16's command-line items: what the exit status invites a
// caller to do.

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/sandbox"
)

// startSandbox starts the sandbox's fakes in a test folder.
func startSandbox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// TestSendJSONResultUnwritableAfterSending checks that send --json whose
// standard output is gone (a reader that closed the pipe) still exits 0
// once the message was accepted, with a warning on standard error: a
// failure status would make the caller send the message again.
func TestSendJSONResultUnwritableAfterSending(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // nobody reads: writing fails with EPIPE (or SIGPIPE)
	var stderr bytes.Buffer
	// The test binary runs as m365send (testscript.Main in TestMain).
	cmd := &exec.Cmd{Path: exe, Args: []string{"m365send", "--config", sb.ConfigFile, "send", "--profile", sandbox.AppProfile,
		"--json", "--to", "ops@example.com", "--subject", "s", "--body", "b"}}
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Errorf("exit: %v, want 0; stderr:\n%s", err, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "m365send: warning: the message was sent (Message-ID <") ||
		!strings.Contains(stderr.String(), "--json result could not be written") {
		t.Errorf("stderr does not say the message was sent:\n%s", stderr.String())
	}
	if n := len(sb.SMTP.Messages()); n != 1 {
		t.Errorf("the server holds %d messages, want 1", n)
	}
}

// TestStdinFolderIsUsage checks that a folder as standard input is a
// mistake in the command line (64), for send and for sendmail, and that
// nothing is sent.
func TestStdinFolderIsUsage(t *testing.T) {
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	for _, args := range [][]string{
		{"m365send", "send", "--dry-run", "--to", "ops@example.com", "--from", "a@example.com"},
		{"m365send", "send", "--dry-run", "--raw", "-", "--from", "a@example.com"},
		{"m365send", "sendmail", "ops@example.com"},
		{filepath.Join("/usr/sbin", "sendmail"), "-t"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, IO{In: dir, Out: &out, Err: &errb})
		if code != exitUsage || !strings.Contains(errb.String(), "standard input is a folder") || out.Len() != 0 {
			t.Errorf("%q: exit %d, want %d; stdout %q, stderr:\n%s", args, code, exitUsage, out.String(), errb.String())
		}
	}
}

// TestDryRunChecksUnknownVariables checks that send --dry-run loads the
// profile as every command does: an unknown M365SEND_* variable (a typo)
// is refused, not silently ignored.
func TestDryRunChecksUnknownVariables(t *testing.T) {
	env := map[string]string{
		"HOME":                    t.TempDir(),
		"AZURE_TENANT_ID":         "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":         "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"M365SEND_MAILBOX":        "alerts@contoso.com",
		"M365SEND_FLOW":           "device_code",
		"M365SEND_AUTHORITY_HOST": "127.0.0.1:1",
		"M365SEND_FROM_NAMES":     "Contoso Alerts", // a typo of M365SEND_FROM_NAME
	}
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	for _, args := range [][]string{
		{"m365send", "send", "--dry-run", "--to", "ops@contoso.com", "--body", "x"},
		{"m365send", "send", "--dry-run", "--from", "a@contoso.com", "--to", "ops@contoso.com", "--body", "x"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, IO{Out: &out, Err: &errb, Env: func(k string) string { return env[k] }, Environ: environ})
		if code != exitConfig || !strings.Contains(errb.String(), "M365SEND_FROM_NAMES") || out.Len() != 0 {
			t.Errorf("%q: exit %d, want %d refusing M365SEND_FROM_NAMES; stdout %q, stderr:\n%s", args, code, exitConfig, out.String(), errb.String())
		}
	}
}

// TestSandboxDirRefusesAFolderNotItsOwn checks that sandbox --dir never
// writes into a folder holding anything but an earlier sandbox's files,
// never changes an existing folder's mode, and works in an empty folder
// and in its own earlier folder.
func TestSandboxDirRefusesAFolderNotItsOwn(t *testing.T) {
	sandboxRun := func(dir string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"m365send", "sandbox", "--demo", "--dir", dir},
			IO{Out: &out, Err: &errb, Env: func(string) string { return "" }})
		return code, errb.String()
	}
	realConfig := "default_profile = \"work\"\n[profiles.work]\ntenant = \"contoso.onmicrosoft.com\"\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		mode  os.FileMode
	}{
		{"a shared folder with a file of someone's", map[string]string{"notes.txt": "mine"}, 0o777 | os.ModeSticky},
		{"a real config.toml", map[string]string{"config.toml": realConfig}, 0o755},
		{"a ca.pem without the sandbox's config", map[string]string{"ca.pem": "my CA"}, 0o700},
		{"the sandbox's config beside a file of someone's", map[string]string{"config.toml": "# Written by `m365send sandbox`: x\n", "notes.txt": "mine"}, 0o700},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "sb")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			before, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			code, stderr := sandboxRun(dir)
			if code != exitUsage || !strings.Contains(stderr, "not an earlier sandbox's folder") {
				t.Errorf("exit %d, want %d refusing the folder; stderr:\n%s", code, exitUsage, stderr)
			}
			after, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if after.Mode() != before.Mode() {
				t.Errorf("the folder's mode changed from %v to %v", before.Mode(), after.Mode())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.files) {
				t.Errorf("the folder holds %d entries, want the %d it had", len(entries), len(tc.files))
			}
			for name, content := range tc.files {
				if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != content {
					t.Errorf("%s changed: %q, %v", name, b, err)
				}
			}
		})
	}

	t.Run("an empty folder keeps its mode, and can be used again", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "sb")
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if code, stderr := sandboxRun(dir); code != 0 {
				t.Fatalf("run %d: exit %d; stderr:\n%s", i+1, code, stderr)
			}
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o750 {
			t.Errorf("the folder's mode is %v, want it kept at 0750", fi.Mode().Perm())
		}
	})
}

// TestNoHintClosesASharedFolder checks that a token cache folder shared
// with others (sticky, as /tmp) gets a hint to use a folder of one's own,
// never one to chmod 700 the shared folder.
func TestNoHintClosesASharedFolder(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"HOME":                    t.TempDir(),
		"AZURE_TENANT_ID":         "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":         "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"AZURE_CLIENT_SECRET":     "not-a-real-secret",
		"M365SEND_MAILBOX":        "alerts@contoso.com",
		"M365SEND_AUTHORITY_HOST": "127.0.0.1:1",
		"M365SEND_CACHE_DIR":      shared,
	}
	for _, args := range [][]string{{"m365send", "token"}, {"m365send", "send", "--to", "ops@contoso.com", "--body", "x"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, IO{Out: &out, Err: &errb, Env: func(k string) string { return env[k] }})
		if code != exitConfig || !strings.Contains(errb.String(), "hint: ") || strings.Contains(errb.String(), "chmod") ||
			!strings.Contains(errb.String(), "folder of your own") {
			t.Errorf("%q: exit %d, want %d with a hint to use a folder of one's own, not chmod; stderr:\n%s", args, code, exitConfig, errb.String())
		}
	}
}
