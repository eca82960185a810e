package clilog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLoggerWarningsAreMessageLines checks that warnings print in the shape
// of the command's errors, one safe line each, and that Info shows only
// with -v.
func TestLoggerWarningsAreMessageLines(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, "m365send", false)
	log.Info("credential", "source", "client_secret_env X")
	log.With("path", "/c/p.json").WithGroup("g").Warn("token cache was corrupt;\nmoved it aside",
		"moved_to", "/c/p.json.corrupt-1", "error", "bad\x1b[2J json", "n", 3)
	want := "m365send: warning: token cache was corrupt; moved it aside (path=/c/p.json g.moved_to=/c/p.json.corrupt-1 g.error=\"bad [2J json\" g.n=3)\n"
	if b.String() != want {
		t.Errorf("logged\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	New(&b, "sendmail", false).Warn("plain")
	if b.String() != "sendmail: warning: plain\n" {
		t.Errorf("sendmail's warning: %q", b.String())
	}

	b.Reset()
	log = New(&b, "m365send", true)
	log.Info("credential", "source", "file")
	log.Warn("careful")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "time=") ||
		lines[1] != "m365send: warning: careful" {
		t.Errorf("-v logged:\n%s", b.String())
	}

	b.Reset()
	log = NewLevel(&b, "m365send", slog.LevelError)
	log.Warn("hidden")
	log.Error("shown")
	if b.String() != "m365send: error: shown\n" {
		t.Errorf("error level logged %q", b.String())
	}
}
