//go:build linux

package main

// Issue 15: what a person meets at a terminal, tested on a real
// pseudo-terminal (internal/testpty) through the real binary.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/internal/testpty"
)

// expectWait bounds each wait for the program's output; it only guards
// against a hang, nothing is timed.
const expectWait = 30 * time.Second

// terminalRun is the test binary started as m365send (TestMain) with
// its standard input and error on a pseudo-terminal, standard output
// collected apart.
type terminalRun struct {
	t      *testing.T
	pty    *testpty.Pty
	cmd    *exec.Cmd
	stdout bytes.Buffer
}

func startAtTerminal(t *testing.T, env []string, args ...string) *terminalRun {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testpty.Open()
	if err != nil {
		// REQUIRE_TEST_TOOLS=1 (.ci/run) makes a missing terminal a failure.
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatalf("no pseudo-terminal (REQUIRE_TEST_TOOLS=1): %v", err)
		}
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	r := &terminalRun{t: t, pty: p}
	r.cmd = &exec.Cmd{Path: exe, Args: append([]string{"m365send"}, args...), Env: env,
		Stdin: p.Terminal, Stdout: &r.stdout, Stderr: p.Terminal,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the child holds the terminal's side now: its exit ends the
	// output.
	_ = p.Terminal.Close()
	return r
}

// expect waits for the output to match re.
func (r *terminalRun) expect(re string) string {
	r.t.Helper()
	s, err := r.pty.Expect(regexp.MustCompile(re), expectWait)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// typeLine types s and Enter.
func (r *terminalRun) typeLine(s string) {
	r.t.Helper()
	if err := r.pty.Type(s + "\n"); err != nil {
		r.t.Fatal(err)
	}
}

// wait waits for the program to exit and returns its exit status.
func (r *terminalRun) wait() int {
	r.t.Helper()
	err := r.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		r.t.Fatal(err)
	}
	return r.cmd.ProcessState.ExitCode()
}

// terminalEnv is an environment with a fresh HOME.
func terminalEnv(t *testing.T) []string {
	home := t.TempDir()
	return []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir(), "LANG=C"}
}

// TestInitAsksAtATerminal answers init's questions as a person would: an
// app, a tenant, a client ID typed wrong then right, a pasted client
// secret (not echoed), a mailbox; init writes the file (0600) with the
// secret in a 0600 file beside it, and the doctor it offers passes.
func TestInitAsksAtATerminal(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	secret, err := os.ReadFile(sb.SecretFile)
	if err != nil {
		t.Fatal(err)
	}
	v := sb.Vars()
	env := terminalEnv(t)
	home := strings.TrimPrefix(env[0], "HOME=")
	r := startAtTerminal(t, env, "init", "--set", "authority_host="+v["AUTHORITY_HOST"], "--set", "smtp_host="+v["SMTP_HOST"],
		"--set", "smtp_port="+v["SMTP_PORT"], "--set", "ca_file="+v["CA_FILE"])
	r.expect(`Who sends\?`)
	r.expect(`Choose 1-2 \[1\]: `)
	r.typeLine("1")
	r.expect(`Tenant: [^\n]*: `)
	r.typeLine(v["TENANT_ID"])
	r.expect(`Application \(client\) ID[^\n]*: `)
	r.typeLine("my-app")
	r.expect(`How does the app prove who it is\?`)
	r.expect(`Choose 1-4 \[1\]: `)
	r.typeLine("4")
	r.expect(`Client secret \(not shown\): `)
	// The question comes before the echo goes off: type once it is off.
	if err := r.pty.WaitEchoOff(expectWait); err != nil {
		t.Fatal(err)
	}
	r.typeLine(strings.TrimSpace(string(secret)))
	r.expect(`Mailbox to send as[^\n]*: `)
	r.typeLine(sandbox.AppMailbox)
	// The client ID is refused in config's words and asked again.
	r.expect(`malformed client_id "my-app": not a GUID`)
	r.expect(`Application \(client\) ID[^\n]*: `)
	r.typeLine(v["APP_ID"])
	r.expect(`Check it now with .m365send doctor.\? \[Y/n\] `)
	r.typeLine("")
	r.expect(`wrote profile "default" to ` + regexp.QuoteMeta(filepath.Join(home, ".config", "m365send", "config.toml")))
	if code := r.wait(); code != 0 {
		t.Fatalf("init exited %d; terminal:\n%s\nstdout:\n%s", code, r.pty.Output(), r.stdout.String())
	}
	if !strings.Contains(r.stdout.String(), "All checks passed") {
		t.Errorf("doctor did not pass; stdout:\n%s", r.stdout.String())
	}
	if strings.Contains(r.pty.Output(), strings.TrimSpace(string(secret))) {
		t.Error("the pasted client secret was shown on the terminal")
	}
	dir := filepath.Join(home, ".config", "m365send")
	for _, name := range []string{"config.toml", "default.secret"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %o, want 600", name, fi.Mode().Perm())
		}
	}
	conf, err := os.ReadFile(filepath.Join(dir, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), `client_secret_file = "default.secret"`) || strings.Contains(string(conf), strings.TrimSpace(string(secret))) {
		t.Errorf("the file should name the secret file and not hold the secret:\n%s", conf)
	}
}

// TestSendReadsTheBodyAtATerminal: send with no --body at a terminal
// says on the terminal that it reads the body, waits for it (nothing is
// sent while the person types) and sends what was typed once Ctrl-D ends
// it; Ctrl-C sends nothing; --body ” sends an empty body at once.
func TestSendReadsTheBodyAtATerminal(t *testing.T) {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	env := terminalEnv(t)
	args := []string{"--config", sb.ConfigFile, "send", "--profile", sandbox.AppProfile, "--to", "ops@example.com", "-s", "typed"}

	r := startAtTerminal(t, env, args...)
	r.expect(regexp.QuoteMeta(compose.TypeBodyNote))
	r.typeLine("first line typed")
	r.expect("first line typed")
	// The first line is in, the input is not over: nothing went yet. (Were
	// send not waiting, it would have sent an empty message already, the
	// moment it started.)
	if n := len(sb.SMTP.Messages()); n != 0 {
		t.Fatalf("the server holds %d messages before the body was ended", n)
	}
	r.typeLine("second line")
	if err := r.pty.Type("\x04"); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Fatalf("send exited %d; terminal:\n%s", code, r.pty.Output())
	}
	msgs := sb.SMTP.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "first line typed\r\nsecond line\r\n") {
		t.Fatalf("the server holds %d messages, want the typed one", len(msgs))
	}

	// Ctrl-C while typing: nothing is sent.
	r = startAtTerminal(t, env, args...)
	r.expect(regexp.QuoteMeta(compose.TypeBodyNote))
	r.typeLine("never sent")
	r.expect("never sent")
	if err := r.pty.Type("\x03"); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code == 0 {
		t.Errorf("send interrupted exited 0; terminal:\n%s", r.pty.Output())
	}
	if n := len(sb.SMTP.Messages()); n != 1 {
		t.Errorf("after Ctrl-C the server holds %d messages, want 1", n)
	}

	// --body '' is an empty body on purpose: sent without asking.
	r = startAtTerminal(t, env, append(args, "--body", "")...)
	if code := r.wait(); code != 0 {
		t.Fatalf("send --body '' exited %d; terminal:\n%s", code, r.pty.Output())
	}
	if strings.Contains(r.pty.Output(), compose.TypeBodyNote) {
		t.Error("send --body '' asked for a body")
	}
	if n := len(sb.SMTP.Messages()); n != 2 {
		t.Errorf("the server holds %d messages, want 2", n)
	}
}
