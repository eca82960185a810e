package main

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/testca"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

// These end-to-end tests run the real binary, invoked both as
// `m365send sendmail` and through a symlink named "sendmail", with a
// message on standard input, against entratest and smtptest on loopback,
// and check what the server received.

const (
	smClientID = "3f1c2a9e-7d44-4c1b-9a0e-5b2f8c6d1e07"
	smSecret   = "sendmail-e2e-secret-Qx7~not.real"
	smMailbox  = "alerts@contoso.com"
	smOther    = "other@contoso.com"
	smSendAs   = "ops@contoso.com"
)

// sendmailBinary returns the binary TestMain built and a symlink to it
// named "sendmail".
func sendmailBinary(t *testing.T) (m365send, symlink string) {
	t.Helper()
	if e2eBinary == "" {
		t.Fatal("the m365send binary did not build (see TestMain's output)")
	}
	symlink = filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(e2eBinary, symlink); err != nil {
		t.Fatal(err)
	}
	return e2eBinary, symlink
}

// smWorld is a fake Entra ID and Office 365 with a config that points at
// them, and a clean environment to run the binary in.
type smWorld struct {
	auth   *entratest.Authority
	smtp   *smtptest.Server
	dir    string
	config string
	env    []string

	mu      sync.Mutex
	tokens  []string // access tokens the server was given
	outputs []string // every stdout and stderr
}

func newSMWorld(t *testing.T, faults ...smtptest.Fault) *smWorld {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	auth, err := entratest.New(entratest.Options{Certificate: &ca.ServerCert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	if err := auth.AddApp(entratest.App{ClientID: smClientID, Secret: smSecret, Mailboxes: []string{smMailbox, smOther}}); err != nil {
		t.Fatal(err)
	}
	w := &smWorld{auth: auth, dir: t.TempDir()}
	srv := startSMTP(t, smtptest.Options{
		Certificate: &ca.ServerCert,
		Verify: func(tok, user string) error {
			w.mu.Lock()
			w.tokens = append(w.tokens, tok)
			w.mu.Unlock()
			return auth.Verify(tok, user)
		},
		SendAs: map[string][]string{smMailbox: {smSendAs}},
		Faults: faults,
	})
	w.smtp = srv
	t.Cleanup(func() { w.checkNoLeaks(t) })
	home := filepath.Join(w.dir, "home")
	for _, d := range []string{home, filepath.Join(home, ".config"), filepath.Join(home, ".cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	caFile := filepath.Join(w.dir, "ca.pem")
	if err := ca.WriteCertFile(caFile); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(w.dir, "secret")
	if err := os.WriteFile(secretFile, []byte(smSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profile := func(name, mailbox string) string {
		return fmt.Sprintf(`
[profiles.%s]
flow = "client_credentials"
tenant = %q
client_id = %q
client_secret_file = %q
mailbox = %q
from_name = "Contoso Alerts"
authority_host = %q
smtp_host = %q
smtp_port = %d
ca_file = %q
`, name, auth.TenantID(), smClientID, secretFile, mailbox, auth.URL(), srv.Host(), srv.Port(), caFile)
	}
	w.config = filepath.Join(w.dir, "m365send.toml")
	cfg := "default_profile = \"alerts\"\n" + profile("alerts", smMailbox) + profile("other", smOther)
	if err := os.WriteFile(w.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"M365SEND_CACHE_DIR=" + filepath.Join(w.dir, "cache"),
		"LANG=C",
	}
	return w
}

// smResult is what one run of the binary did.
type smResult struct {
	code   int
	stdout string
	stderr string
}

// run runs prog with args and stdin in the world's environment plus env.
func (w *smWorld) run(t *testing.T, prog string, args []string, stdin string, env ...string) smResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(append([]string{}, w.env...), env...)
	cmd.Dir = w.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code, err := exitStatus(cmd.Run())
	if err != nil {
		t.Fatalf("run %s %q: %v", prog, args, err)
	}
	res := smResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
	w.mu.Lock()
	w.outputs = append(w.outputs, res.stdout, res.stderr)
	w.mu.Unlock()
	return res
}

// checkNoLeaks fails the test if any output holds the secret or a token.
func (w *smWorld) checkNoLeaks(t *testing.T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	needles := append([]string{smSecret}, w.tokens...)
	for _, out := range w.outputs {
		for _, n := range needles {
			if n != "" && strings.Contains(out, n) {
				t.Errorf("a secret or token (%.12s...) appears in the output:\n%s", n, out)
			}
		}
	}
}

// received waits for the server's nth message (1-based).
func (w *smWorld) received(t *testing.T, n int) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := w.smtp.WaitMessages(ctx, n)
	if err != nil {
		t.Fatalf("server received %d messages, want %d: %v", len(msgs), n, err)
	}
	return msgs[n-1]
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// header parses the received message's header.
func header(t *testing.T, data []byte) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	return m.Header
}

func TestSendmail(t *testing.T) {
	bin, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	cfgArgs := []string{"-C", w.config}
	// Each way of invoking it: the binary under its own name with the
	// sendmail subcommand, and the "sendmail" symlink.
	type invocation struct {
		name string
		prog string
		pre  []string
	}
	asM365 := invocation{"m365send sendmail", bin, []string{"sendmail"}}
	asSymlink := invocation{"symlink", symlink, nil}

	complete := "From: Alerts <alerts@contoso.com>\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <fixed-1@contoso.com>\n"
	tests := []struct {
		name     string
		inv      invocation
		args     []string
		env      []string
		in       string
		wantFrom string   // MAIL FROM
		wantTo   []string // RCPT TO, in order
		wantUser string   // XOAUTH2 user (default smMailbox)
		want     string   // exact bytes received, if set
		check    func(t *testing.T, got smtptest.Message)
	}{
		{
			name:     "-t with To, Cc and Bcc; Bcc only in the envelope",
			inv:      asSymlink,
			args:     []string{"-t"},
			in:       complete + "To: Ann <ann@example.com>\nCc: bob@example.com\nBcc: secret@example.com\nSubject: t\n\nbody\n",
			wantFrom: smMailbox,
			wantTo:   []string{"ann@example.com", "bob@example.com", "secret@example.com"},
			want:     crlf(complete + "To: Ann <ann@example.com>\nCc: bob@example.com\nSubject: t\n\nbody\n"),
		},
		{
			name:     "-t via m365send sendmail",
			inv:      asM365,
			args:     []string{"-t", "-i"},
			in:       complete + "To: ann@example.com\nBcc: secret@example.com\n\nbody\n",
			wantFrom: smMailbox,
			wantTo:   []string{"ann@example.com", "secret@example.com"},
			want:     crlf(complete + "To: ann@example.com\n\nbody\n"),
		},
		{
			name:     "recipients as arguments; To header not used, Bcc stripped",
			inv:      asM365,
			args:     []string{"x@example.com", "y@example.com, z@example.com"},
			in:       complete + "To: header-only@example.com\nBcc: hidden@example.com\n\nbody\n",
			wantFrom: smMailbox,
			wantTo:   []string{"x@example.com", "y@example.com", "z@example.com"},
			want:     crlf(complete + "To: header-only@example.com\n\nbody\n"),
		},
		{
			name:     "-t and arguments: both, each once",
			inv:      asSymlink,
			args:     []string{"-t", "arg@example.com", "ann@example.com"},
			in:       complete + "To: ann@example.com\nBcc: b@example.com\n\nbody\n",
			wantFrom: smMailbox,
			wantTo:   []string{"arg@example.com", "ann@example.com", "b@example.com"},
		},
		{
			name:     "-f sets the envelope sender and the added From",
			inv:      asSymlink,
			args:     []string{"-f", smSendAs, "-F", "Ops Team", "to@example.com"},
			in:       "Subject: from ops\n\nbody\n",
			wantFrom: smSendAs,
			wantTo:   []string{"to@example.com"},
			check: func(t *testing.T, got smtptest.Message) {
				h := header(t, got.Data)
				if from := h.Get("From"); from != `"Ops Team" <ops@contoso.com>` {
					t.Errorf("From = %q", from)
				}
				if id := h.Get("Message-Id"); !strings.HasSuffix(id, "@contoso.com>") {
					t.Errorf("Message-ID = %q", id)
				}
			},
		},
		{
			name:     "bare LF input arrives as CRLF, otherwise byte for byte",
			inv:      asM365,
			args:     []string{"to@example.com"},
			in:       complete + "Subject: lf\nX-Folded: a\n\tb\n\nline 1\n  line 2 \n\n\xe4 8-bit\n",
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			want:     crlf(complete + "Subject: lf\nX-Folded: a\n\tb\n\nline 1\n  line 2 \n\n\xe4 8-bit\n"),
		},
		{
			name:     "CRLF input arrives unchanged",
			inv:      asSymlink,
			args:     []string{"to@example.com"},
			in:       crlf(complete + "Subject: crlf\n\nline 1\nline 2\n"),
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			want:     crlf(complete + "Subject: crlf\n\nline 1\nline 2\n"),
		},
		{
			name:     "leading dot lines survive; a lone dot ends the message",
			inv:      asSymlink,
			args:     []string{"to@example.com"},
			in:       complete + "\n.leading dot\n..two dots\n.\nnot sent\n",
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			want:     crlf(complete + "\n.leading dot\n..two dots\n"),
		},
		{
			name:     "-i: a lone dot is an ordinary line",
			inv:      asM365,
			args:     []string{"-i", "to@example.com"},
			in:       complete + "\n.\n.leading\nafter the dot\n",
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			want:     crlf(complete + "\n.\n.leading\nafter the dot\n"),
		},
		{
			name:     "-oi works like -i",
			inv:      asSymlink,
			args:     []string{"-oi", "-oem", "-odi", "-B8BITMIME", "--", "to@example.com"},
			in:       crlf(complete + "\n.\nafter\n"),
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			want:     crlf(complete + "\n.\nafter\n"),
		},
		{
			name:     "missing Date, Message-ID and From are added",
			inv:      asSymlink,
			args:     []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "to@example.com"},
			in:       "Subject: Cron <root@host> backup\n\nbackup done\n",
			wantFrom: smMailbox,
			wantTo:   []string{"to@example.com"},
			check: func(t *testing.T, got smtptest.Message) {
				h := header(t, got.Data)
				if from := h.Get("From"); from != `"CronDaemon" <alerts@contoso.com>` {
					t.Errorf("From = %q", from)
				}
				if _, err := h.Date(); err != nil {
					t.Errorf("Date %q: %v", h.Get("Date"), err)
				}
				if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@contoso.com>") {
					t.Errorf("Message-ID = %q", id)
				}
				if !bytes.HasPrefix(got.Data, []byte("Subject: Cron <root@host> backup\r\n")) || !bytes.HasSuffix(got.Data, []byte("\r\n\r\nbackup done\r\n")) {
					t.Errorf("received %q", got.Data)
				}
			},
		},
		{
			name:     "Debian cron's message: its From without a domain is replaced",
			inv:      asSymlink,
			args:     []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@example.com"},
			in:       "From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@web01> /usr/local/bin/backup.sh\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\nbackup done\n",
			wantFrom: smMailbox,
			wantTo:   []string{"ops@example.com"},
			check: func(t *testing.T, got smtptest.Message) {
				h := header(t, got.Data)
				if from := h["From"]; len(from) != 1 || from[0] != `"CronDaemon" <alerts@contoso.com>` {
					t.Errorf("From = %q", from)
				}
				if s := h.Get("Subject"); s != "Cron <root@web01> /usr/local/bin/backup.sh" {
					t.Errorf("Subject = %q", s)
				}
			},
		},
		{
			name:     "profile from the config's from_name and M365SEND_PROFILE",
			inv:      asM365,
			args:     []string{"to@example.com"},
			env:      []string{"M365SEND_PROFILE=other"},
			in:       "Subject: other\n\nbody\n",
			wantFrom: smOther,
			wantUser: smOther,
			wantTo:   []string{"to@example.com"},
			check: func(t *testing.T, got smtptest.Message) {
				if from := header(t, got.Data).Get("From"); from != `"Contoso Alerts" <other@contoso.com>` {
					t.Errorf("From = %q", from)
				}
			},
		},
	}
	n := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append(append([]string{}, tt.inv.pre...), cfgArgs...), tt.args...)
			res := w.run(t, tt.inv.prog, args, tt.in, tt.env...)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing", res.stdout)
			}
			n++
			got := w.received(t, n)
			if got.From != tt.wantFrom {
				t.Errorf("MAIL FROM = %q, want %q", got.From, tt.wantFrom)
			}
			if strings.Join(got.To, " ") != strings.Join(tt.wantTo, " ") {
				t.Errorf("RCPT TO = %q, want %q", got.To, tt.wantTo)
			}
			user := tt.wantUser
			if user == "" {
				user = smMailbox
			}
			if got.User != user {
				t.Errorf("XOAUTH2 user = %q, want %q", got.User, user)
			}
			if bytes.Contains(bytes.ToLower(got.Data), []byte("\nbcc:")) {
				t.Errorf("a Bcc header was sent:\n%s", got.Data)
			}
			if tt.want != "" && string(got.Data) != tt.want {
				t.Errorf("received:\n%q\nwant:\n%q", got.Data, tt.want)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}

	t.Run("-v traces SMTP on stderr without the token", func(t *testing.T) {
		res := w.run(t, symlink, append(append([]string{}, cfgArgs...), "-v", "to@example.com"), "Subject: v\n\nbody\n")
		if res.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		n++
		w.received(t, n)
		if !strings.Contains(res.stderr, "STARTTLS") || !strings.Contains(res.stderr, "XOAUTH2") {
			t.Errorf("no SMTP trace on stderr:\n%s", res.stderr)
		}
		if strings.Contains(res.stderr, "eyJ") {
			t.Errorf("stderr holds what looks like a JWT:\n%s", res.stderr)
		}
	})

	t.Run("m365send's global --config and --profile before sendmail", func(t *testing.T) {
		res := w.run(t, bin, []string{"--config", w.config, "--profile=other", "sendmail", "-t"}, "To: to@example.com\nSubject: global\n\nbody\n")
		if res.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		n++
		if got := w.received(t, n); got.User != smOther || !bytes.Contains(got.Data, []byte("Subject: global\r\n")) {
			t.Errorf("user %q received %q", got.User, got.Data)
		}
	})

	t.Run("config from M365SEND_CONFIG without -C", func(t *testing.T) {
		res := w.run(t, symlink, []string{"to@example.com"}, "Subject: env\n\nbody\n", "M365SEND_CONFIG="+w.config)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		n++
		if got := w.received(t, n); !bytes.Contains(got.Data, []byte("Subject: env\r\n")) {
			t.Errorf("received %q", got.Data)
		}
	})
}

// TestSendmailBadInput checks that bad input is refused with the sysexits
// code sendmail callers expect, a message on stderr, and that nothing
// reaches the server.
func TestSendmailBadInput(t *testing.T) {
	bin, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	ok := "Subject: x\n\nbody\n"
	// sm runs the symlink, m3 the binary's subcommand, both with -C.
	sm := func(a ...string) []string { return append([]string{"-C", w.config}, a...) }
	m3 := func(a ...string) []string { return append([]string{"sendmail", "-C", w.config}, a...) }
	tests := []struct {
		name     string
		prog     string
		args     []string
		in       string
		wantCode int
		wantErr  string
	}{
		{"no recipients", symlink, sm(), ok, 65, "no recipients"},
		{"-t but no recipient headers", symlink, sm("-t"), ok, 65, "no recipients"},
		{"malformed address", symlink, sm("not an address"), ok, 65, "malformed address"},
		{"bare user name", bin, m3("root"), ok, 65, "MAILTO"},
		{"malformed To with -t", symlink, sm("-t"), "To: ann@example.com, <broken\n\nbody\n", 65, "malformed address in To header"},
		{"malformed -f", symlink, sm("-f", "bad sender", "to@example.com"), ok, 65, "malformed sender address"},
		{"empty message", symlink, sm("to@example.com"), "", 65, "empty message"},
		{"only a dot", bin, m3("to@example.com"), ".\nlater\n", 65, "empty message"},
		{"header line without a colon", symlink, sm("to@example.com"), "Subject: x\nno colon here\n\nbody\n", 65, "line 2"},
		{"unknown option", symlink, sm("-x", "to@example.com"), ok, 64, "unknown option -x"},
		{"unknown long option", bin, m3("--frobnicate", "to@example.com"), ok, 64, "unknown option"},
		{"queue listing", symlink, sm("-bp"), "", 64, "not supported"},
		{"SMTP on stdin", symlink, sm("-bs"), "", 64, "not supported"},
		{"queue run, -q alone", symlink, sm("-q"), "", 64, "-q (process the mail queue) is not supported"},
		{"queue run, -q1h", bin, m3("-q1h"), "", 64, "-q (process the mail queue) is not supported"},
		{"-f without its argument", symlink, sm("to@example.com", "-f"), ok, 64, "needs an argument"},
		{"missing config file", symlink, []string{"-C", filepath.Join(t.TempDir(), "nope.toml"), "to@example.com"}, ok, 78, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.run(t, tt.prog, tt.args, tt.in)
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", res.code, tt.wantCode, res.stderr)
			}
			if !strings.Contains(res.stderr, tt.wantErr) || strings.TrimSpace(res.stderr) == "" {
				t.Errorf("stderr %q does not say %q", res.stderr, tt.wantErr)
			}
			if c := w.smtp.Count(smtptest.StageGreeting); c != 0 {
				t.Errorf("the server was contacted %d times", c)
			}
		})
	}
}

// TestSendmailConfigHintNamesC checks that a configuration file that is
// missing, or none found at all, gets a hint naming sendmail's -C FILE,
// not m365send's --config.
func TestSendmailConfigHintNamesC(t *testing.T) {
	bin, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	missing := filepath.Join(t.TempDir(), "nope.toml")
	for _, tt := range []struct {
		name string
		prog string
		args []string
	}{
		{"named file missing (symlink)", symlink, []string{"-C", missing, "to@example.com"}},
		{"named file missing (subcommand)", bin, []string{"sendmail", "-C" + missing, "to@example.com"}},
		{"no file found", symlink, []string{"to@example.com"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := w.run(t, tt.prog, tt.args, "Subject: x\n\nbody\n")
			if res.code != 78 {
				t.Errorf("exit %d, want 78; stderr:\n%s", res.code, res.stderr)
			}
			if !strings.Contains(res.stderr, "hint:") || !strings.Contains(res.stderr, "-C FILE") || strings.Contains(res.stderr, "--config") {
				t.Errorf("stderr %q: want a hint naming -C FILE and not --config", res.stderr)
			}
		})
	}
}

// TestSendmailProfileHintNamesNoFlag checks that when no profile is
// selected, the hint names what sendmail's callers can set (the
// environment, default_profile), not m365send's --profile flag.
func TestSendmailProfileHintNamesNoFlag(t *testing.T) {
	_, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	cfg, err := os.ReadFile(w.config)
	if err != nil {
		t.Fatal(err)
	}
	noDefault := filepath.Join(w.dir, "no-default.toml")
	body := strings.Replace(string(cfg), "default_profile = \"alerts\"\n", "", 1)
	if err := os.WriteFile(noDefault, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	res := w.run(t, symlink, []string{"-C", noDefault, "to@example.com"}, "Subject: x\n\nbody\n")
	if res.code != 78 {
		t.Fatalf("exit %d, want 78; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "M365SEND_PROFILE") || strings.Contains(res.stderr, "--profile") {
		t.Errorf("stderr %q: want a hint naming $M365SEND_PROFILE and not --profile", res.stderr)
	}
}

// TestSendmailServerFailures checks the exit codes for what the server
// says, and that a refused message is not reported as sent.
func TestSendmailServerFailures(t *testing.T) {
	_, symlink := sendmailBinary(t)
	tests := []struct {
		name     string
		fault    smtptest.Fault
		wantCode int
	}{
		{"temporary failure: 75 so the caller retries", smtptest.Fault{Stage: smtptest.StageRcpt, Reply: "451 4.4.0 Temporary failure, try again later"}, 75},
		{"unknown recipient: permanent", smtptest.Fault{Stage: smtptest.StageRcpt, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"}, 69},
		{"refused after the body", smtptest.Fault{Stage: smtptest.StageEndOfData, Reply: "554 5.6.0 Corrupt message content"}, 69},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSMWorld(t, tt.fault)
			res := w.run(t, symlink, []string{"-C", w.config, "to@example.com"}, "Subject: x\n\nbody\n")
			if res.code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", res.code, tt.wantCode, res.stderr)
			}
			if strings.TrimSpace(res.stderr) == "" {
				t.Error("nothing on stderr")
			}
			if msgs := w.smtp.Messages(); len(msgs) != 0 {
				t.Errorf("server recorded %d messages", len(msgs))
			}
		})
	}
}

// TestSendmailMailx drives Debian's bsd-mailx (`mail -s`), configured to
// use the "sendmail" symlink, and checks that its message arrives.
func TestSendmailMailx(t *testing.T) {
	mailx, err := exec.LookPath("bsd-mailx")
	if err != nil {
		if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
			t.Fatalf("bsd-mailx is required (REQUIRE_TEST_TOOLS=1) but not found: %v", err)
		}
		t.Skip("bsd-mailx is not installed (apt-get install bsd-mailx); set REQUIRE_TEST_TOOLS=1 to make this a failure")
	}
	_, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	mailrc := filepath.Join(w.dir, "mailrc")
	if err := os.WriteFile(mailrc, []byte("set sendmail="+symlink+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := w.run(t, mailx, []string{"-n", "-s", "disk full on web01", "-c", "cc@example.com", "-b", "bcc@example.com", "ops@example.com"},
		"The disk is full.\n.\nThis line follows a lone dot.\n",
		"MAILRC="+mailrc, "M365SEND_CONFIG="+w.config)
	if res.code != 0 {
		t.Fatalf("mail exited %d: %s", res.code, res.stderr)
	}
	// mail(1) does not wait for sendmail; the server tells when it is done.
	got := w.received(t, 1)
	if got.From != smMailbox {
		t.Errorf("MAIL FROM = %q", got.From)
	}
	if strings.Join(got.To, " ") != "ops@example.com cc@example.com bcc@example.com" {
		t.Errorf("RCPT TO = %q", got.To)
	}
	h := header(t, got.Data)
	if s := h.Get("Subject"); s != "disk full on web01" {
		t.Errorf("Subject = %q", s)
	}
	if h.Get("Bcc") != "" {
		t.Errorf("Bcc header sent: %q", h.Get("Bcc"))
	}
	if from := h.Get("From"); from != `"Contoso Alerts" <alerts@contoso.com>` {
		t.Errorf("From = %q", from)
	}
	if !bytes.HasSuffix(got.Data, []byte("\r\n\r\nThe disk is full.\r\n.\r\nThis line follows a lone dot.\r\n")) {
		t.Errorf("body not as written:\n%q", got.Data)
	}
}
