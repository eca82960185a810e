//go:build unix

package main

// Issue 11: the relay end to end through the real binary (`m365send
// relay`, this package's main run as its own process, see TestMain), with
// a stdlib net/smtp client and swaks as devices, delivering to the
// sandbox's fake Office 365.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/token/entratest"
)

// cheapHash is password's argon2id PHC string at the lowest cost the relay
// accepts, so that logins stay fast under the race detector. (`m365send
// relay passwd` makes the real ones; relay_run.txtar uses it.)
func cheapHash(t testing.TB, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b.EncodeToString(salt), b.EncodeToString(key))
}

// relayUserTable is a [[relay.users]] entry for the sandbox's app-only
// profile (mailbox sandbox.AppMailbox).
func relayUserTable(t testing.TB, name, password string) string {
	return fmt.Sprintf("\n[[relay.users]]\nname = %q\npassword_hash = %q\nprofiles = [%q]\n", name, cheapHash(t, password), sandbox.AppProfile)
}

// logWatch collects a process's standard error line by line, for tests
// to wait for a line.
type logWatch struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed at the next line or at the end
	ended   bool
}

func newLogWatch(r io.Reader) *logWatch {
	w := &logWatch{changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			close(w.changed)
			w.changed = make(chan struct{})
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.ended = true
		close(w.changed)
		w.mu.Unlock()
	}()
	return w
}

// String is everything read so far.
func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// count is how many lines so far match re.
func (w *logWatch) count(re *regexp.Regexp) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// wait returns the submatches of the first line after the first skip
// lines that matches re, waiting for it (a minute at most).
func (w *logWatch) wait(t testing.TB, re *regexp.Regexp, skip int) []string {
	t.Helper()
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for {
		w.mu.Lock()
		for i := skip; i < len(w.lines); i++ {
			if m := re.FindStringSubmatch(w.lines[i]); m != nil {
				w.mu.Unlock()
				return m
			}
		}
		ended, ch := w.ended, w.changed
		w.mu.Unlock()
		if ended {
			t.Fatalf("the process ended without logging %s; it logged:\n%s", re, w)
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("no line matching %s within a minute; the process logged:\n%s", re, w)
		}
	}
}

// relayProc is `m365send relay` running as its own process over a
// sandbox, in a HOME and state folder of its own.
type relayProc struct {
	sb    *sandbox.Sandbox
	home  string
	file  string // the configuration file: the sandbox's plus a [relay] table
	state string // $M365SEND_STATE_DIR: the generated certificate and the spool
	addr  string // where the first listener listens
	cmd   *exec.Cmd
	log   *logWatch
	done  chan struct{} // closed when the process has ended
	err   error         // its Wait's, once done
}

var listeningLine = regexp.MustCompile(`msg="relay: listening" address=(\S+)`)

// startRelay starts the sandbox and the relay over it, configured with the
// sandbox's profiles and relayTable (a [relay] table, listening on
// 127.0.0.1:0), and waits until it listens.
func startRelay(t *testing.T, relayTable string) *relayProc {
	t.Helper()
	home := t.TempDir()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: filepath.Join(home, "sandbox")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	r := &relayProc{sb: sb, home: home, file: filepath.Join(home, "relay.toml"), state: filepath.Join(home, "state")}
	r.writeConfig(t, relayTable)
	r.start(t)
	return r
}

// writeConfig writes the configuration file with relayTable.
func (r *relayProc) writeConfig(t testing.TB, relayTable string) {
	t.Helper()
	base, err := os.ReadFile(r.sb.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	r.writeConfigText(t, string(base)+"\n"+relayTable+"\n")
}

// writeConfigText writes the configuration file.
func (r *relayProc) writeConfigText(t testing.TB, text string) {
	t.Helper()
	if err := os.WriteFile(r.file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs the relay process and waits until it listens.
func (r *relayProc) start(t testing.TB) {
	t.Helper()
	r.launch(t)
	r.addr = r.log.wait(t, listeningLine, 0)[1]
}

// launch runs the relay process without waiting for it.
func (r *relayProc) launch(t testing.TB) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"m365send", "relay", "--config", r.file}}
	cmd.Env = []string{"HOME=" + r.home, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir(), "M365SEND_STATE_DIR=" + r.state}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	r.log = newLogWatch(stderr)
	go func() {
		// Wait closes stderr: let the watcher read it all first.
		r.log.waitEnd()
		r.err = cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() { r.kill() })
}

// waitEnd returns when the watched stream has ended.
func (w *logWatch) waitEnd() {
	for {
		w.mu.Lock()
		ended, ch := w.ended, w.changed
		w.mu.Unlock()
		if ended {
			return
		}
		<-ch
	}
}

// kill ends the process with SIGKILL, if it runs, and waits for it.
func (r *relayProc) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// stop ends the process with SIGTERM and returns its exit status.
func (r *relayProc) stop(t testing.TB) int {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(time.Minute):
		t.Fatalf("the relay did not stop within a minute of SIGTERM; it logged:\n%s", r.log)
	}
	var ee *exec.ExitError
	if errors.As(r.err, &ee) {
		return ee.ExitCode()
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return 0
}

// certFile is the relay's generated certificate, which devices trust.
func (r *relayProc) certFile() string { return filepath.Join(r.state, "relay-cert.pem") }

// tlsConfig trusts only the relay's certificate.
func (r *relayProc) tlsConfig(t testing.TB) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(r.certFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", r.certFile())
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// dial connects a net/smtp client, with STARTTLS when tlsOn.
func (r *relayProc) dial(t testing.TB, tlsOn bool) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if tlsOn {
		if err := c.StartTLS(r.tlsConfig(t)); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
	}
	return c
}

// spoolFiles lists what the spool's queue and tmp folders hold.
func (r *relayProc) spoolFiles(t testing.TB) []string {
	t.Helper()
	var names []string
	for _, d := range []string{"queue", "tmp"} {
		es, err := os.ReadDir(filepath.Join(r.state, "spool", d))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range es {
			names = append(names, d+"/"+e.Name())
		}
	}
	return names
}

// assertNothingQueued fails if the spool holds a message (or part of one)
// or the fake Office 365 received more than delivered messages. A queued
// message stays in the spool until the fake has it, so the two together
// see a message the relay took whenever it took it.
func (r *relayProc) assertNothingQueued(t testing.TB, delivered int) {
	t.Helper()
	if fs := r.spoolFiles(t); len(fs) > 0 {
		t.Errorf("the spool holds %v, want nothing", fs)
	}
	if n := len(r.sb.SMTP.Messages()); n != delivered {
		t.Errorf("the fake Office 365 received %d messages, want %d", n, delivered)
	}
}

// waitDelivered waits until the fake Office 365 has n messages and returns
// the nth.
func (r *relayProc) waitDelivered(t testing.TB, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := r.sb.SMTP.WaitMessages(ctx, n)
	if err != nil {
		t.Fatalf("%v; the relay logged:\n%s", err, r.log)
	}
	m := msgs[n-1]
	if m.From != sandbox.AppMailbox {
		t.Errorf("delivered with MAIL FROM %q, want %q", m.From, sandbox.AppMailbox)
	}
	// The relay records the delivery after the fake's 250: wait for the
	// spool to let go of the message too.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(r.spoolFiles(t)) > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the spool still holds %v after the delivery", r.spoolFiles(t))
		}
	}
	return string(m.Data)
}

// loginAuth is the LOGIN mechanism for net/smtp, which has only PLAIN and
// CRAM-MD5.
type loginAuth struct{ user, pass string }

func (a loginAuth) Start(*smtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(from []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch string(from) {
	case "Username:":
		return []byte(a.user), nil
	case "Password:":
		return []byte(a.pass), nil
	}
	return nil, fmt.Errorf("unexpected challenge %q", from)
}

// smtpSend runs MAIL, RCPT and DATA on c.
func smtpSend(c *smtp.Client, from string, to []string, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

// wantReply fails unless err is an SMTP reply with code and enhanced code.
func wantReply(t testing.TB, err error, code int, enh string) {
	t.Helper()
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != code || !strings.HasPrefix(te.Msg, enh+" ") {
		t.Fatalf("reply %v, want %d %s", err, code, enh)
	}
}

// e2eRelayTable is the relay of the end-to-end tests: a 4096-byte limit
// and one user, "scanner" with password "s3cret", sending as the
// sandbox's app mailbox.
func e2eRelayTable(t testing.TB) string {
	return "[relay]\nlisten = [\"127.0.0.1:0\"]\nmax_size = 4096\nmetrics_listen = \"127.0.0.1:0\"\n" + relayUserTable(t, "scanner", "s3cret")
}

const e2eMsg = "From: Scanner <" + sandbox.AppMailbox + ">\r\nTo: bob@example.com\r\nSubject: %s\r\n\r\nscanned page\r\n"

// TestRelayEndToEndNetSMTP: a net/smtp device submits through the real
// relay with PLAIN and LOGIN after STARTTLS, and every refusal is the
// right reply with nothing queued.
func TestRelayEndToEndNetSMTP(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	r := startRelay(t, e2eRelayTable(t))
	// The first token request fails (and is retried): the metrics count it.
	r.sb.Authority.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: http.StatusServiceUnavailable})
	delivered := 0
	for _, auth := range []smtp.Auth{smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1"), loginAuth{"scanner", "s3cret"}} {
		c := r.dial(t, true)
		if err := c.Auth(auth); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		subject := fmt.Sprintf("net/smtp %T", auth)
		if err := smtpSend(c, sandbox.AppMailbox, []string{"bob@example.com"}, fmt.Sprintf(e2eMsg, subject)); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		c.Quit()
		delivered++
		if got := r.waitDelivered(t, delivered); !strings.Contains(got, "Subject: "+subject+"\r\n") {
			t.Errorf("delivered %q, want the message with subject %q", got, subject)
		}
	}

	authed := func(t *testing.T) *smtp.Client {
		c := r.dial(t, true)
		if err := c.Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		return c
	}
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 300)
	tests := []struct {
		name string
		run  func(t *testing.T) error
		code int
		enh  string
	}{
		{"AUTH before STARTTLS", func(t *testing.T) error {
			return r.dial(t, false).Auth(smtp.PlainAuth("", "scanner", "s3cret", "127.0.0.1"))
		}, 538, "5.7.11"},
		{"wrong password", func(t *testing.T) error {
			return r.dial(t, true).Auth(smtp.PlainAuth("", "scanner", "wrong", "127.0.0.1"))
		}, 535, "5.7.8"},
		{"unknown user", func(t *testing.T) error {
			return r.dial(t, true).Auth(loginAuth{"nobody", "s3cret"})
		}, 535, "5.7.8"},
		{"forbidden sender", func(t *testing.T) error {
			return smtpSend(authed(t), "ceo@contoso.com", []string{"bob@example.com"}, fmt.Sprintf(e2eMsg, "ceo"))
		}, 550, "5.7.1"},
		{"501 recipients", func(t *testing.T) error {
			to := make([]string, 501)
			for i := range to {
				to[i] = fmt.Sprintf("r%d@example.com", i)
			}
			return smtpSend(authed(t), sandbox.AppMailbox, to, fmt.Sprintf(e2eMsg, "many"))
		}, 452, "4.5.3"},
		{"oversize", func(t *testing.T) error {
			return smtpSend(authed(t), sandbox.AppMailbox, []string{"bob@example.com"}, big)
		}, 552, "5.3.4"},
		{"no AUTH from an unlisted network", func(t *testing.T) error {
			return smtpSend(r.dial(t, true), sandbox.AppMailbox, []string{"bob@example.com"}, fmt.Sprintf(e2eMsg, "anonymous"))
		}, 530, "5.7.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantReply(t, tc.run(t), tc.code, tc.enh)
			r.assertNothingQueued(t, delivered)
		})
	}

	// The metrics listener counted all of it.
	metricsAddr := r.log.wait(t, regexp.MustCompile(`msg="relay: metrics listening" address=(\S+)`), 0)[1]
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	_, body := get("/metrics")
	// Each request the fake Entra ID answered is counted once, the failed
	// one as an error; the second delivery's token came from memory and
	// is not.
	hits := r.sb.Authority.RequestsFrom(entratest.EndpointToken, sandbox.AppClientID)
	if hits < 2 {
		t.Errorf("Entra ID was asked %d times for %d deliveries and a failure", hits, delivered)
	}
	for _, want := range []string{
		fmt.Sprintf("m365send_token_requests_total{result=%q} %d\n", "ok", hits-1),
		`m365send_token_requests_total{result="error"} 1` + "\n",
		"m365send_relay_up 1\n",
		"m365send_relay_accepted_total 2\n",
		`m365send_relay_refused_total{code="535"} 2` + "\n",
		`m365send_relay_refused_total{code="538"} 1` + "\n",
		`m365send_relay_refused_total{code="550"} 1` + "\n",
		`m365send_relay_refused_total{code="452"} 1` + "\n",
		`m365send_relay_refused_total{code="552"} 1` + "\n",
		`m365send_relay_refused_total{code="530"} 1` + "\n",
		`m365send_queue_deliveries_total{result="delivered"} 2` + "\n",
		"m365send_queue_messages 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if code := r.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, r.log)
	}
	if n := r.log.count(regexp.MustCompile(`msg="relay: accepted"`)); n != delivered {
		t.Errorf("%d messages accepted, want %d; log:\n%s", n, delivered, r.log)
	}
	if n := r.log.count(regexp.MustCompile(`msg="relay: refused"`)); n != len(tests) {
		t.Errorf("%d refusals logged, want %d; log:\n%s", n, len(tests), r.log)
	}
}

// swaksPath finds swaks, skipping the test when it is missing unless
// REQUIRE_TEST_TOOLS=1 (scripts/test.sh installs it).
func swaksPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("swaks")
	if err != nil {
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatalf("swaks is required (REQUIRE_TEST_TOOLS=1): %v", err)
		}
		t.Skip("swaks not installed")
	}
	return p
}

// swaks runs swaks against the relay with args after the server's, and
// returns its exit status and transcript.
func (r *relayProc) swaks(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	host, port, err := net.SplitHostPort(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--server", host, "--port", port, "--helo", "scanner.test", "--timeout", "30"}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	return 0, string(out)
}

// swaksReply finds the server's error reply in a swaks transcript: swaks
// marks replies it did not expect with "<**" ("<~*" inside TLS).
var swaksReply = regexp.MustCompile(`(?m)^<[*~]\* (\d{3}) (\d\.\d{1,3}\.\d{1,3}) `)

// TestRelayEndToEndSwaks: swaks, an independent SMTP client, as the
// device: the same deliveries and refusals as TestRelayEndToEndNetSMTP.
func TestRelayEndToEndSwaks(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	bin := swaksPath(t)
	r := startRelay(t, e2eRelayTable(t))
	tlsArgs := []string{"--tls", "--tls-verify", "--tls-ca-path", r.certFile()}
	auth := func(mech, user, pass string) []string {
		return append(append([]string{}, tlsArgs...), "--auth", mech, "--auth-user", user, "--auth-password", pass)
	}
	msg := func(subject string) []string {
		return []string{"--from", sandbox.AppMailbox, "--to", "bob@example.com", "--header", "Subject: " + subject, "--body", "scanned page"}
	}
	delivered := 0
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		subject := "swaks " + mech
		code, out := r.swaks(t, bin, append(auth(mech, "scanner", "s3cret"), msg(subject)...)...)
		if code != 0 {
			t.Fatalf("swaks AUTH %s: exit %d:\n%s\nrelay log:\n%s", mech, code, out, r.log)
		}
		if !strings.Contains(out, "AUTH "+mech) {
			t.Errorf("swaks did not use AUTH %s:\n%s", mech, out)
		}
		delivered++
		if got := r.waitDelivered(t, delivered); !strings.Contains(got, "Subject: "+subject+"\r\n") {
			t.Errorf("delivered %q, want the message with subject %q", got, subject)
		}
	}

	many := make([]string, 501)
	for i := range many {
		many[i] = fmt.Sprintf("r%d@example.com", i)
	}
	tests := []struct {
		name string
		args []string
		code string // "": no reply: swaks itself gives up
		enh  string
		exit int // swaks' exit status (see swaks(1), EXIT CODES)
	}{
		// swaks never sends AUTH that was not offered: before STARTTLS
		// the relay offers none (net/smtp sees the 538 it would get).
		{"AUTH before STARTTLS", append(msg("plain"), "--auth", "PLAIN", "--auth-user", "scanner", "--auth-password", "s3cret"), "", "", 28},
		{"wrong password", append(auth("PLAIN", "scanner", "wrong"), msg("wrong")...), "535", "5.7.8", 28},
		{"unknown user", append(auth("LOGIN", "nobody", "s3cret"), msg("nobody")...), "535", "5.7.8", 28},
		{"forbidden sender", append(auth("PLAIN", "scanner", "s3cret"), "--from", "ceo@contoso.com", "--to", "bob@example.com"), "550", "5.7.1", 23},
		{"oversize", append(auth("PLAIN", "scanner", "s3cret"), append(msg("big"), "--body", strings.Repeat("0123456789abcdef\n", 300))...), "552", "5.3.4", 26},
		{"no AUTH from an unlisted network", append(append([]string{}, tlsArgs...), msg("anonymous")...), "530", "5.7.0", 23},
	}
	refusals := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exit, out := r.swaks(t, bin, tc.args...)
			if exit != tc.exit {
				t.Errorf("swaks exit %d, want %d:\n%s", exit, tc.exit, out)
			}
			m := swaksReply.FindStringSubmatch(out)
			switch {
			case tc.code == "" && m != nil:
				t.Errorf("reply %s %s, want none:\n%s", m[1], m[2], out)
			case tc.code != "" && (m == nil || m[1] != tc.code || m[2] != tc.enh):
				t.Errorf("want the reply %s %s:\n%s", tc.code, tc.enh, out)
			}
			r.assertNothingQueued(t, delivered)
		})
		if tc.code != "" {
			refusals++
		}
	}

	// Recipient 501 is refused with 452 4.5.3: "send the rest in another
	// transaction" (RFC 5321 section 4.5.3.1.10). Unlike net/smtp, swaks
	// goes on with the 500 accepted, as the RFC allows: those are queued
	// and delivered, to exactly the first 500.
	exit, out := r.swaks(t, bin, append(auth("PLAIN", "scanner", "s3cret"), "--from", sandbox.AppMailbox, "--to", strings.Join(many, ","),
		"--header", "To: undisclosed-recipients:;", "--header", "Subject: many", "--body", "to many")...)
	if m := swaksReply.FindStringSubmatch(out); m == nil || m[1] != "452" || m[2] != "4.5.3" {
		t.Errorf("501 recipients: want the reply 452 4.5.3 (swaks exit %d):\n%s", exit, out)
	}
	refusals++
	delivered++
	r.waitDelivered(t, delivered)
	if got := r.sb.SMTP.Messages()[delivered-1].To; len(got) != 500 || got[0] != many[0] || got[499] != many[499] {
		t.Errorf("delivered to %d recipients, want the first 500", len(got))
	}

	if code := r.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, r.log)
	}
	if n := r.log.count(regexp.MustCompile(`msg="relay: accepted"`)); n != delivered {
		t.Errorf("%d messages accepted, want %d; log:\n%s", n, delivered, r.log)
	}
	if n := r.log.count(regexp.MustCompile(`msg="relay: refused"`)); n != refusals {
		t.Errorf("%d refusals logged, want %d; log:\n%s", n, refusals, r.log)
	}
}

// TestRelayReloadsUsersOnSIGHUP: after the users file changes and the
// relay gets SIGHUP, the new password works and the old one no longer
// does, without a restart.
func TestRelayReloadsUsersOnSIGHUP(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	table := func(pw string) string {
		return "[relay]\nlisten = [\"127.0.0.1:0\"]\n" + relayUserTable(t, "scanner", pw)
	}
	r := startRelay(t, table("old-pass"))
	try := func(pw string) error {
		c := r.dial(t, true)
		defer c.Close()
		return c.Auth(smtp.PlainAuth("", "scanner", pw, "127.0.0.1"))
	}
	if err := try("old-pass"); err != nil {
		t.Fatalf("the first password: %v", err)
	}
	wantReply(t, try("new-pass"), 535, "5.7.8")

	reloaded := regexp.MustCompile(`msg="relay: reloaded users and networks"`)
	seen := len(strings.Split(r.log.String(), "\n"))
	r.writeConfig(t, table("new-pass"))
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.log.wait(t, reloaded, seen-1)
	if err := try("new-pass"); err != nil {
		t.Fatalf("the new password after SIGHUP: %v", err)
	}
	wantReply(t, try("old-pass"), 535, "5.7.8")
	c := r.dial(t, true)
	if err := c.Auth(smtp.PlainAuth("", "scanner", "new-pass", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := smtpSend(c, sandbox.AppMailbox, []string{"bob@example.com"}, fmt.Sprintf(e2eMsg, "after reload")); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	r.waitDelivered(t, 1)

	// A broken file is refused on SIGHUP: the relay goes on as it was.
	seen = len(strings.Split(r.log.String(), "\n"))
	if err := os.WriteFile(r.file, []byte("[relay\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r.log.wait(t, regexp.MustCompile(`warning: relay: reload refused`), seen-1)
	if err := try("new-pass"); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	if code := r.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0; log:\n%s", code, r.log)
	}
}

// TestDoctorShowsTheRelayFingerprint: doctor, run on the relay's
// configuration, shows the fingerprint the relay printed when it generated
// its certificate, for devices to pin.
func TestDoctorShowsTheRelayFingerprint(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	r := startRelay(t, "[relay]\nlisten = [\"127.0.0.1:0\"]\n"+relayUserTable(t, "scanner", "s3cret"))
	fp := r.log.wait(t, regexp.MustCompile(`relay certificate SHA-256 fingerprint ([0-9A-F:]+) \(generated`), 0)[1]
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"m365send", "doctor", "--config", r.file, "--profile", sandbox.AppProfile}}
	cmd.Env = []string{"HOME=" + r.home, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir(), "M365SEND_STATE_DIR=" + r.state}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^ok +relay +.*certificate SHA-256 fingerprint ` + fp + ` `).Match(out) {
		t.Errorf("doctor does not show the relay's fingerprint %s:\n%s", fp, out)
	}
	if code := r.stop(t); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
}
