package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sandboxEnv is a clean environment for in-process runs: its own HOME, XDG
// folders and TMPDIR, and none of the caller's AZURE_* or M365SEND_*.
func sandboxEnv(t *testing.T) (func(string) string, map[string]string) {
	t.Helper()
	root := t.TempDir()
	env := map[string]string{
		"HOME":            filepath.Join(root, "home"),
		"XDG_CONFIG_HOME": filepath.Join(root, "config"),
		"XDG_CACHE_HOME":  filepath.Join(root, "cache"),
		"TMPDIR":          filepath.Join(root, "tmp"),
	}
	for _, d := range env {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return func(k string) string { return env[k] }, env
}

// sandboxLines delivers what r carries, line by line, until r ends.
func sandboxLines(r io.Reader) <-chan string {
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// sandboxWaitLine returns the first line from ch that contains substr.
func sandboxWaitLine(t *testing.T, ch <-chan string, substr string, seen *strings.Builder) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("output ended before a line with %q:\n%s", substr, seen.String())
			}
			seen.WriteString(line + "\n")
			if strings.Contains(line, substr) {
				return line
			}
		case <-deadline:
			t.Fatalf("no line with %q within a minute:\n%s", substr, seen.String())
		}
	}
}

func TestSandboxServesTheWrittenProfileUntilInterrupted(t *testing.T) {
	getenv, _ := sandboxEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		code := run(ctx, []string{"m365send", "sandbox", "--dir", filepath.Join(t.TempDir(), "sb")},
			IO{In: strings.NewReader(""), Out: pw, Err: &errb, Env: getenv})
		pw.Close()
		done <- code
	}()
	out := sandboxLines(pr)
	var seen strings.Builder
	ready := sandboxWaitLine(t, out, sandboxReady, &seen)
	cfg := strings.TrimPrefix(ready, sandboxReady)
	if _, err := os.Stat(cfg); err != nil {
		t.Fatalf("ready line names %q: %v", cfg, err)
	}

	// Send as a user would, with the written profile.
	var sendOut, sendErr bytes.Buffer
	code := run(t.Context(), []string{"m365send", "--config", cfg, "send", "--profile", "sandbox",
		"--to", "someone@example.com", "--subject", "through the sandbox", "--body", "hello"},
		IO{In: strings.NewReader(""), Out: &sendOut, Err: &sendErr, Env: getenv})
	if code != 0 {
		t.Fatalf("send through the sandbox: exit %d\n%s%s", code, sendOut.String(), sendErr.String())
	}
	sandboxWaitLine(t, out, "AUTH XOAUTH2 user: alerts@contoso.com", &seen)
	sandboxWaitLine(t, out, "RCPT TO:           <someone@example.com>", &seen)
	sandboxWaitLine(t, out, "Subject: through the sandbox", &seen)

	cancel()
	sandboxWaitLine(t, out, "m365send sandbox: stopped", &seen)
	if code := <-done; code != 0 {
		t.Errorf("sandbox stopped with exit %d\n%s", code, errb.String())
	}
}
