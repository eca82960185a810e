package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/internal/testnet"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

// The command-line tests are scripts (testdata/script/*.txtar, see
// github.com/rogpeppe/go-internal/testscript): each is what a user types
// and what m365send prints, run against the sandbox's fake Entra ID and
// Office 365 (internal/sandbox) on loopback. `exec m365send` and
// `exec sendmail` run this package's main as its own process (testscript
// re-executes the test binary under those names); the commands below set
// up the world and look at what the fakes saw:
//
//	world [flags]              start the fakes (flags: see worldCmd) and set
//	                           HOME, XDG_*, TOKENS (the default token cache
//	                           folder), the sandbox's Vars and SECRET
//	expand SRC DST             copy SRC to DST (mode 0600) with $VARs expanded
//	status N                   the last m365send/sendmail run exited with N
//	                           (each run's status is checked at most once)
//	received N [FILE]          wait for the server's Nth message, print its
//	                           envelope, write its bytes to FILE
//	header FILE NAME           print each value of header NAME (a Date must parse)
//	smtp count STAGE | messages | wait STAGE | clear | fault STAGE [-n N] (stall|drop|REPLY)
//	entra requests ENDPOINT [GRANT] | codes (count, codes; $CODE the last) |
//	      authorize (the last authorize request: redirect, PKCE) |
//	      revoke UPN | clear | verify FILE MAILBOX |
//	      fault ENDPOINT STATUS [-retry-after D] [-times N]
//	jsonvar FILE KEY VAR       set VAR to the JSON object's KEY
//	refusingport VAR           set VAR to a loopback port that refuses connections
//	pathof NAME VAR            set VAR to the path of program NAME on $PATH
//	leak secret VALUE | file FILE | issued | covers CACHEFILE
//	doctorsteps FIRSTFAIL      doctor's stdout lists every step in order and
//	                           FIRSTFAIL ("-": none) is the first that failed
//	truncate FILE N            cut the last N bytes off FILE
//	glob [-grep TEXT] PATTERN  print the files matching PATTERN (holding TEXT)
//	mode FILE PERM             FILE's permission bits are PERM (octal)
//	freeport VAR               set VAR to a free loopback port
//	waitport ADDR              wait (a minute at most) until ADDR accepts
//	cacheexpire FILE           expire every access token in a token cache
//	agehealth FILE DAYS        move a sign-in record's times DAYS days back
//	relaysend ADDR CERT USER PASS FROM TO
//	                           submit one message over STARTTLS with AUTH
//	                           PLAIN, trusting the PEM certificate CERT
//
// Every output of every run (but the token `token` prints) is checked, when
// the script ends, for the client secret, private key lines and every
// token the fake Entra ID issued.

// outputsFile and statusFile, in $WORK, collect what scriptMain's runs
// printed and the last exit status.
const (
	outputsFile = ".outputs"
	statusFile  = ".status"
)

// scriptMain is main as the scripts run it: the same run, with each output
// also appended to $WORK/.outputs (for the leak check) and the exit status
// written to $WORK/.status (for `status`), and its peak memory to
// $PEAK_MEMORY_FILE when set. SCRIPT_STDOUT=readonly makes
// standard output a read-only file, to play an unwritable stdout.
func scriptMain() {
	ctx, stop := signalContext()
	var out, errw io.Writer = os.Stdout, os.Stderr
	if os.Getenv("SCRIPT_STDOUT") == "readonly" {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		out = f
	}
	work := os.Getenv("WORK")
	if work != "" {
		log, err := os.OpenFile(filepath.Join(work, outputsFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer log.Close()
		// The token `token` prints is checked through the issued tokens.
		if len(os.Args) < 2 || os.Args[1] != "token" {
			out = io.MultiWriter(out, log)
		}
		errw = io.MultiWriter(errw, log)
	}
	code := run(ctx, os.Args, IO{In: os.Stdin, Out: out, Err: errw, Env: os.Getenv, Environ: os.Environ()})
	stop()
	// PEAK_MEMORY_FILE receives /proc/self/status (Linux) as the process
	// ends, for its peak memory (VmHWM): bigstdin_test.go.
	if p := os.Getenv("PEAK_MEMORY_FILE"); p != "" {
		if b, err := os.ReadFile("/proc/self/status"); err == nil {
			_ = os.WriteFile(p, b, 0o600)
		}
	}
	if work != "" {
		_ = os.WriteFile(filepath.Join(work, statusFile), []byte(strconv.Itoa(code)), 0o600)
	}
	os.Exit(code)
}

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"m365send":     scriptMain,
		"sendmail":     scriptMain,
		"fakebrowser":  fakeBrowserMain,
		"hookrecorder": hookMain,
	})
}

func TestScripts(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			st := &scriptState{t: env.T(), work: env.WorkDir}
			env.Values[stateKey{}] = st
			env.Defer(func() {
				if st.sb != nil {
					_ = st.sb.Close()
				}
				if msg := st.leaks(); msg != "" {
					st.t.Fatal(msg)
				}
			})
			// REQUIRE_TEST_TOOLS=1 (set by .ci/run) turns a missing outside
			// tool into a failure: see the [tool:NAME] condition.
			env.Setenv("REQUIRE_TEST_TOOLS", os.Getenv("REQUIRE_TEST_TOOLS"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			name, ok := strings.CutPrefix(cond, "tool:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if _, err := exec.LookPath(name); err != nil {
				if os.Getenv("REQUIRE_TEST_TOOLS") == "1" {
					return false, fmt.Errorf("%s is required (REQUIRE_TEST_TOOLS=1) but not found: %w", name, err)
				}
				return false, nil
			}
			return true, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"world":         worldCmd,
			"expand":        expandCmd,
			"status":        statusCmd,
			"received":      receivedCmd,
			"header":        headerCmd,
			"smtp":          smtpCmd,
			"entra":         entraCmd,
			"jsonvar":       jsonvarCmd,
			"refusingport":  refusingPortCmd,
			"pathof":        pathofCmd,
			"leak":          leakCmd,
			"doctorsteps":   doctorStepsCmd,
			"truncate":      truncateCmd,
			"glob":          globCmd,
			"mode":          modeCmd,
			"enqueue":       enqueueCmd,
			"freeport":      freePortCmd,
			"waitport":      waitPortCmd,
			"relaysend":     relaySendCmd,
			"graphreceived": graphReceivedCmd,
			"cacheexpire":   cacheExpireCmd,
			"agehealth":     ageHealthCmd,
			"docexamples":   docExamplesCmd,
			"syslogd":       syslogdCmd,
			"syslogged":     sysloggedCmd,
			"smtppeak":      smtpPeakCmd,
			"sendmails":     sendmailsCmd,
			"keyring":       keyringCmd,
		},
	})
}

type stateKey struct{}

// scriptState is one script's world.
type scriptState struct {
	t    testscript.T
	work string
	sb   *sandbox.Sandbox

	mu      sync.Mutex
	secrets []string      // never to appear in an output
	codes   []string      // device codes' user codes, in order
	syslog  *testSyslog   // syslogd's (sysmail_script_test.go)
	procs   []*bgProc     // sendmails' (sysmail_script_test.go)
	wrote   chan struct{} // a sendmails process wrote on stderr
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func world(ts *testscript.TestScript) *sandbox.Sandbox {
	s := state(ts)
	if s.sb == nil {
		ts.Fatalf("no world: run `world` first")
	}
	return s.sb
}

func noNeg(ts *testscript.TestScript, neg bool, name string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", name)
	}
}

// worldCmd starts the sandbox, adjusted by flags:
//
//	-roles none          the app is granted no application permission
//	-mailboxes LIST      the mailboxes the app may send as ("none" for
//	                     none; default alerts@contoso.com)
//	-audience URL        the app's tokens carry this audience
//	-cert                the app signs in with a certificate only:
//	                     $WORK/app.pem holds it and its key (0600)
//	-sendas USER=ADDR    USER may also send as ADDR
//	-auth-reply TEXT     every AUTH gets this reply
//	-no-starttls         the server does not offer STARTTLS
//	-rcpt-reply TEXT     every RCPT TO gets this reply
func worldCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "world")
	st := state(ts)
	if st.sb != nil {
		ts.Fatalf("world already started")
	}
	fs := flag.NewFlagSet("world", flag.ContinueOnError)
	roles := fs.String("roles", "", "")
	mailboxes := fs.String("mailboxes", "", "")
	audience := fs.String("audience", "", "")
	cert := fs.Bool("cert", false, "")
	sendAs := fs.String("sendas", "", "")
	authReply := fs.String("auth-reply", "", "")
	noStartTLS := fs.Bool("no-starttls", false, "")
	rcptReply := fs.String("rcpt-reply", "", "")
	maxConns := fs.Int("maxconns", 0, "") // the server's limit per user; -1: none
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		ts.Fatalf("usage: world [-roles none] [-mailboxes LIST] [-audience URL] [-cert] [-sendas USER=ADDR] [-auth-reply TEXT] [-no-starttls] (%v)", err)
	}
	app := &entratest.App{Audience: *audience}
	switch *roles {
	case "":
	case "none":
		app.Roles = []string{}
	default:
		app.Roles = strings.Split(*roles, ",")
	}
	switch *mailboxes {
	case "":
	case "none":
		app.Mailboxes = []string{}
	default:
		app.Mailboxes = strings.Split(*mailboxes, ",")
	}
	if *cert {
		certPEM, keyPEM, err := entratest.NewCertificate("m365send e2e")
		ts.Check(err)
		app.CertificatePEM = certPEM
		ts.Check(os.WriteFile(ts.MkAbs("app.pem"), append(certPEM, keyPEM...), 0o600))
		st.secrets = append(st.secrets, keyLines(keyPEM)...)
	}
	opts := sandbox.Options{Dir: filepath.Join(ts.Getenv("WORK"), ".sandbox"), App: app}
	if *sendAs != "" {
		user, addr, ok := strings.Cut(*sendAs, "=")
		if !ok {
			ts.Fatalf("world: -sendas USER=ADDR")
		}
		opts.SMTP.SendAs = map[string][]string{user: {addr}}
	}
	opts.SMTP.AuthReply = *authReply
	opts.SMTP.NoStartTLS = *noStartTLS
	if *rcptReply != "" {
		opts.SMTP.Faults = []smtptest.Fault{{Stage: smtptest.StageRcpt, Reply: *rcptReply}}
	}
	opts.SMTP.MaxConnsPerUser = *maxConns
	sb, err := sandbox.Start(context.Background(), opts)
	ts.Check(err)
	st.sb = sb
	sb.Authority.OnDeviceCode(func(userCode string) {
		st.mu.Lock()
		st.codes = append(st.codes, userCode)
		st.mu.Unlock()
	})
	secret, err := os.ReadFile(sb.SecretFile)
	ts.Check(err)
	st.secrets = append(st.secrets, strings.TrimSpace(string(secret)))

	home := filepath.Join(ts.Getenv("WORK"), "home")
	for _, d := range []string{home, filepath.Join(home, ".config"), filepath.Join(home, ".cache")} {
		ts.Check(os.MkdirAll(d, 0o700))
	}
	ts.Setenv("HOME", home)
	ts.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	ts.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	ts.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	// TOKENS is the default token cache folder (the sign-ins).
	ts.Setenv("TOKENS", filepath.Join(home, ".local", "state", "m365send", "tokens"))
	ts.Setenv("LANG", "C")
	ts.Setenv("SECRET", strings.TrimSpace(string(secret)))
	for k, v := range sb.Vars() {
		ts.Setenv(k, v)
	}
}

// needles are the strings no output may hold: the secrets and every token
// the fake Entra ID issued (access, refresh and ID tokens).
func (st *scriptState) needles() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	needles := slices.Clone(st.secrets)
	if st.sb != nil {
		needles = append(needles, st.sb.Authority.IssuedTokens()...)
	}
	return needles
}

// leaks says which needle appears in the runs' outputs ("" if none).
func (st *scriptState) leaks() string {
	out, err := os.ReadFile(filepath.Join(st.work, outputsFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err.Error()
	}
	for _, n := range st.needles() {
		if n != "" && bytes.Contains(out, []byte(n)) {
			return fmt.Sprintf("a secret or token (%.12s…) appears in the output", n)
		}
	}
	return ""
}

// keyLines are the base64 body lines of a PEM private key, to look for in
// outputs (the BEGIN/END lines are no secret).
func keyLines(keyPEM []byte) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(keyPEM)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

func expandCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "expand")
	if len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	text := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	dst := ts.MkAbs(args[1])
	ts.Check(os.MkdirAll(filepath.Dir(dst), 0o700))
	ts.Check(os.WriteFile(dst, []byte(text), 0o600))
}

func statusCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "status")
	if len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	path := filepath.Join(ts.Getenv("WORK"), statusFile)
	got := strings.TrimSpace(ts.ReadFile(path))
	// Used up, so that a later `status` cannot see this run's.
	ts.Check(os.Remove(path))
	if got != args[0] {
		ts.Fatalf("exit status %s, want %s", got, args[0])
	}
}

func receivedCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "received")
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: received N [FILE]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := world(ts).SMTP.WaitMessages(ctx, n)
	if err != nil {
		ts.Fatalf("the server accepted %d messages, want %d: %v", len(msgs), n, err)
	}
	m := msgs[n-1]
	fmt.Fprintf(ts.Stdout(), "user %s\nmail from %s\nrcpt to %s\n", m.User, m.From, strings.Join(m.To, " "))
	if len(args) == 2 {
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), m.Data, 0o600))
	}
}

// graphReceivedCmd checks that the fake Graph accepted N messages and
// prints the Nth's mailbox and recipients (writing its MIME to FILE).
func graphReceivedCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "graphreceived")
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: graphreceived N [FILE]")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	msgs := world(ts).Graph.Messages()
	if len(msgs) != n {
		ts.Fatalf("the fake Graph accepted %d messages, want %d", len(msgs), n)
	}
	if n == 0 {
		return
	}
	m := msgs[n-1]
	fmt.Fprintf(ts.Stdout(), "mailbox %s\nrcpt to %s\n", m.Mailbox, strings.Join(m.Recipients, " "))
	if len(args) == 2 {
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), m.Data, 0o600))
	}
}

func headerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: header FILE NAME")
	}
	m, err := mail.ReadMessage(strings.NewReader(ts.ReadFile(args[0])))
	if err != nil {
		ts.Fatalf("%s does not parse as a message: %v", args[0], err)
	}
	values := m.Header[textproto.CanonicalMIMEHeaderKey(args[1])]
	if neg {
		if len(values) > 0 {
			ts.Fatalf("%s has a %s header: %q", args[0], args[1], values)
		}
		return
	}
	if len(values) == 0 {
		ts.Fatalf("%s has no %s header", args[0], args[1])
	}
	if strings.EqualFold(args[1], "Date") {
		if _, err := m.Header.Date(); err != nil {
			ts.Fatalf("Date %q: %v", values[0], err)
		}
	}
	for _, v := range values {
		fmt.Fprintln(ts.Stdout(), v)
	}
}

func smtpCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "smtp")
	sb := world(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: smtp count STAGE | messages | wait STAGE | fault STAGE [-n N] (stall|drop|REPLY)")
	}
	switch args[0] {
	case "count":
		if len(args) != 2 {
			ts.Fatalf("usage: smtp count STAGE")
		}
		fmt.Fprintln(ts.Stdout(), sb.SMTP.Count(smtptest.Stage(args[1])))
	case "messages":
		fmt.Fprintln(ts.Stdout(), len(sb.SMTP.Messages()))
	case "clear":
		sb.SMTP.ClearFaults()
	case "wait":
		if len(args) != 2 {
			ts.Fatalf("usage: smtp wait STAGE")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ts.Check(sb.SMTP.WaitCount(ctx, smtptest.Stage(args[1]), 1))
	case "fault":
		if len(args) < 3 {
			ts.Fatalf("usage: smtp fault STAGE [-n N] (stall|drop|REPLY)")
		}
		f := smtptest.Fault{Stage: smtptest.Stage(args[1])}
		rest := args[2:]
		if rest[0] == "-n" && len(rest) >= 3 {
			n, err := strconv.Atoi(rest[1])
			ts.Check(err)
			f.N, rest = n, rest[2:]
		}
		switch what := strings.Join(rest, " "); what {
		case "stall":
			f.Stall = true
		case "drop":
			f.Drop = true
		default:
			f.Reply = what
		}
		sb.SMTP.AddFault(f)
	default:
		ts.Fatalf("smtp: unknown subcommand %q", args[0])
	}
}

func entraCmd(ts *testscript.TestScript, neg bool, args []string) {
	sb := world(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: entra requests ENDPOINT [GRANT] | codes | clear | verify FILE MAILBOX | fault ENDPOINT STATUS [-retry-after D] [-times N]")
	}
	if neg && args[0] != "verify" {
		ts.Fatalf("unsupported: ! entra %s", args[0])
	}
	switch args[0] {
	case "requests":
		if len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: entra requests ENDPOINT [GRANT]")
		}
		grant := ""
		if len(args) == 3 {
			grant = args[2]
		}
		fmt.Fprintln(ts.Stdout(), sb.Authority.Requests(args[1], grant))
	case "codes":
		st := state(ts)
		st.mu.Lock()
		codes := slices.Clone(st.codes)
		st.mu.Unlock()
		fmt.Fprintf(ts.Stdout(), "%d\n", len(codes))
		for _, c := range codes {
			fmt.Fprintln(ts.Stdout(), c)
		}
		if len(codes) > 0 {
			ts.Setenv("CODE", codes[len(codes)-1])
		}
	case "authorize":
		req, ok := sb.Authority.LastAuthorize()
		if !ok {
			ts.Fatalf("the fake Entra ID issued no authorization code")
		}
		fmt.Fprintf(ts.Stdout(), "redirect_uri %s\nresponse_mode %s\ncode_challenge_method %s\ncode_challenge_len %d\n",
			req.RedirectURI, req.ResponseMode, req.CodeChallengeMethod, len(req.CodeChallenge))
	case "revoke":
		if len(args) != 2 {
			ts.Fatalf("usage: entra revoke UPN")
		}
		sb.Authority.RevokeRefreshTokens(args[1])
	case "clear":
		sb.Authority.ClearFaults()
	case "verify":
		if len(args) != 3 {
			ts.Fatalf("usage: entra verify FILE MAILBOX")
		}
		err := sb.Authority.Verify(strings.TrimSpace(ts.ReadFile(args[1])), args[2])
		switch {
		case err != nil && !neg:
			ts.Fatalf("the SMTP server's verifier refuses the token: %v", err)
		case err == nil && neg:
			ts.Fatalf("the SMTP server's verifier accepts the token for %s", args[2])
		}
	case "fault":
		fs := flag.NewFlagSet("entra fault", flag.ContinueOnError)
		retryAfter := fs.Duration("retry-after", 0, "")
		times := fs.Int("times", 1, "")
		fs.SetOutput(io.Discard)
		if len(args) < 3 {
			ts.Fatalf("usage: entra fault ENDPOINT STATUS [-retry-after D] [-times N]")
		}
		status, err := strconv.Atoi(args[2])
		ts.Check(err)
		if err := fs.Parse(args[3:]); err != nil {
			ts.Fatalf("entra fault: %v", err)
		}
		sb.Authority.InjectFault(entratest.Fault{Endpoint: args[1], Status: status, RetryAfter: *retryAfter, Times: *times})
	default:
		ts.Fatalf("entra: unknown subcommand %q", args[0])
	}
}

func jsonvarCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "jsonvar")
	if len(args) != 3 {
		ts.Fatalf("usage: jsonvar FILE KEY VAR")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &obj); err != nil {
		ts.Fatalf("%s is not a JSON object: %v", args[0], err)
	}
	v, ok := obj[args[1]]
	if !ok {
		ts.Fatalf("%s has no %q", args[0], args[1])
	}
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	ts.Setenv(args[2], s)
}

func refusingPortCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "refusingport")
	if len(args) != 1 {
		ts.Fatalf("usage: refusingport VAR")
	}
	port, release, err := testnet.Refuse()
	ts.Check(err)
	ts.Defer(func() { _ = release() })
	ts.Setenv(args[0], strconv.Itoa(port))
}

func pathofCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "pathof")
	if len(args) != 2 {
		ts.Fatalf("usage: pathof NAME VAR")
	}
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, args[0])
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			ts.Setenv(args[1], p)
			return
		}
	}
	ts.Fatalf("%s is not on $PATH", args[0])
}

// leakCmd adjusts and checks the leak check: `leak secret VALUE` adds a
// secret no output may hold, `leak file FILE` the one FILE holds; `leak covers CACHEFILE` checks that every
// token a sign-in left in an MSAL cache file (access, refresh and ID
// tokens) is among those looked for.
func leakCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "leak")
	st := state(ts)
	if len(args) != 2 && (len(args) != 1 || args[0] != "issued") {
		ts.Fatalf("usage: leak secret VALUE | leak file FILE | leak issued | leak covers CACHEFILE")
	}
	switch args[0] {
	case "secret", "file":
		secret := args[1]
		if args[0] == "file" {
			secret = strings.TrimSpace(ts.ReadFile(args[1]))
		}
		if secret == "" {
			ts.Fatalf("leak: an empty secret checks nothing")
		}
		st.mu.Lock()
		st.secrets = append(st.secrets, secret)
		st.mu.Unlock()
	case "issued":
		if len(args) != 1 {
			ts.Fatalf("usage: leak issued")
		}
		if len(world(ts).Authority.IssuedTokens()) == 0 {
			ts.Fatalf("the fake Entra ID issued no token, so the leak check checks none")
		}
	case "covers":
		var c map[string]map[string]struct {
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal([]byte(ts.ReadFile(args[1])), &c); err != nil {
			ts.Fatalf("cache file: %v", err)
		}
		needles := st.needles()
		for _, kind := range []string{"AccessToken", "RefreshToken", "IdToken"} {
			if len(c[kind]) == 0 {
				ts.Fatalf("the cache holds no %s", kind)
			}
			for _, e := range c[kind] {
				if !slices.Contains(needles, e.Secret) {
					ts.Fatalf("the leak check does not look for the cached %s", kind)
				}
			}
		}
	default:
		ts.Fatalf("leak: unknown subcommand %q", args[0])
	}
}

// wantDoctorSteps are doctor's steps, in the order it must print them.
var wantDoctorSteps = []string{"config", "token", "claims", "dns", "tcp", "starttls", "mechanisms", "auth", "graph"}

func doctorStepsCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "doctorsteps")
	if len(args) != 1 {
		ts.Fatalf("usage: doctorsteps FIRSTFAIL")
	}
	out := ts.ReadFile("stdout")
	first := "-"
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "FAIL" {
			first = f[1]
			break
		}
	}
	if first != args[0] {
		ts.Fatalf("first failed step %q, want %q", first, args[0])
	}
	last := -1
	for _, step := range wantDoctorSteps {
		i := strings.Index(out, " "+step+" ")
		if i < 0 || i < last {
			ts.Fatalf("step %s missing or out of order", step)
		}
		last = i
	}
}

func truncateCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "truncate")
	if len(args) != 2 {
		ts.Fatalf("usage: truncate FILE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	data := ts.ReadFile(args[0])
	if n > len(data) {
		ts.Fatalf("%s has only %d bytes", args[0], len(data))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(data[:len(data)-n]), 0o600))
}

func globCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "glob")
	text := ""
	if len(args) == 3 && args[0] == "-grep" {
		text, args = args[1], args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: glob [-grep TEXT] PATTERN")
	}
	matches, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, m := range matches {
		if text != "" {
			b, err := os.ReadFile(m)
			if err != nil || !bytes.Contains(b, []byte(text)) {
				continue
			}
		}
		fmt.Fprintln(ts.Stdout(), m)
	}
	// Print nothing but still replace stdout when nothing matches.
	_ = ts.Stdout()
}

func modeCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "mode")
	if len(args) != 2 {
		ts.Fatalf("usage: mode FILE PERM")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); got != os.FileMode(want) {
		ts.Fatalf("%s: mode %o, want %o", args[0], got, want)
	}
}

func TestKeyLinesTakesEveryBodyLine(t *testing.T) {
	_, keyPEM, err := entratest.NewCertificate("leak check")
	if err != nil {
		t.Fatal(err)
	}
	lines := keyLines(keyPEM)
	if len(lines) < 10 || slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "PRIVATE KEY") }) {
		t.Errorf("keyLines = %d lines, want every base64 body line and no BEGIN/END line", len(lines))
	}
}
