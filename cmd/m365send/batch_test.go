package main

// Issue 15: many messages from one command, through the real binary.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/sender/smtptest"
)

// runBinary runs the test binary as m365send (TestMain) with args and
// stdin, and returns its exit status, standard output and error.
func runBinary(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"m365send"}, args...), Env: env,
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr}
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestSendBatchOverOneConnection sends 100 messages of a JSON Lines file
// with one command: smtptest sees one connection (one greeting, one
// AUTH) and 100 messages, and send prints 100 result lines in order. A
// second batch with a bad address on one line sends the others, reports
// that line as failed (--json: one object a line) and exits 65.
func TestSendBatchOverOneConnection(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	// Pacing off: the test counts connections, it does not wait minutes.
	env := []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir(), "M365SEND_RATE_PER_MINUTE=-1"}

	const n = 100
	var file bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&file, `{"to": "ops%d@example.com", "subject": "report %d", "body": "line %d\n"}`+"\n", i, i, i)
	}
	path := filepath.Join(t.TempDir(), "batch.jsonl")
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runBinary(t, env, "", "--config", sb.ConfigFile, "send", "--batch", path)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if got := sb.SMTP.Count(smtptest.StageGreeting); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
	if got := sb.SMTP.Count(smtptest.StageAuth); got != 1 {
		t.Errorf("%d AUTH commands, want 1", got)
	}
	msgs := sb.SMTP.Messages()
	if len(msgs) != n {
		t.Fatalf("the server holds %d messages, want %d", len(msgs), n)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d result lines, want %d:\n%s", len(lines), n, stdout)
	}
	for i, l := range lines {
		want := fmt.Sprintf("sent line %d <", i+1)
		if !strings.HasPrefix(l, want) || !strings.HasSuffix(l, fmt.Sprintf("> to ops%d@example.com", i+1)) {
			t.Fatalf("result line %d = %q, want %q... to ops%d@example.com", i+1, l, want, i+1)
		}
		if got := msgs[i].To; len(got) != 1 || got[0] != fmt.Sprintf("ops%d@example.com", i+1) {
			t.Fatalf("message %d went to %q", i+1, got)
		}
	}

	// One bad line among ten: it alone fails, the worst exit code is its.
	file.Reset()
	for i := 1; i <= 10; i++ {
		to := fmt.Sprintf("ops%d@example.com", i)
		if i == 7 {
			to = "bob; carol@example.com"
		}
		fmt.Fprintf(&file, `{"to": %q, "subject": "again %d", "body": "x"}`+"\n", to, i)
	}
	code, stdout, stderr = runBinary(t, env, file.String(), "--config", sb.ConfigFile, "send", "--batch", "-", "--json")
	if code != exitDataErr {
		t.Fatalf("exit %d, want 65; stderr:\n%s", code, stderr)
	}
	if got := len(sb.SMTP.Messages()); got != n+9 {
		t.Errorf("the server holds %d messages, want %d", got, n+9)
	}
	if got := sb.SMTP.Count(smtptest.StageGreeting); got != 2 {
		t.Errorf("%d connections in all, want 2 (one a batch)", got)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	for i := 1; i <= 10; i++ {
		var res jsonResult
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("result %d: %v\n%s", i, err, stdout)
		}
		want := "sent"
		if i == 7 {
			want = "failed"
			if res.ExitCode != exitDataErr || !strings.Contains(res.Error, "semicolons") {
				t.Errorf("line 7: %+v, want a bad address with exit 65", res)
			}
		}
		if res.Status != want || res.Line != i {
			t.Errorf("result %d: status %q line %d, want %q line %d", i, res.Status, res.Line, want, i)
		}
	}
	if dec.More() {
		t.Errorf("more than 10 results:\n%s", stdout)
	}
}
