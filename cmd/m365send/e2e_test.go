package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/testca"
	"github.com/m365send/m365send/internal/testnet"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

// The end-to-end tests run the real m365send binary, built once by
// TestMain, as separate processes with a temporary HOME and XDG folders and
// only the environment each test gives, against entratest (fake Entra ID)
// and smtptest (fake Office 365) started here on loopback. Both fakes share
// one throwaway CA, which the profiles trust through ca_file.

// e2eBinary is the path of the binary TestMain built (testingM.Run) ("" if the build
// failed, in which case the end-to-end tests fail).
var e2eBinary string

const (
	e2eAppID    = "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d"
	e2ePublicID = "8e2f4a6b-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
	e2eSecret   = "e2e-Secret~7Qk.c9ZpX_not-real"
	e2eMailbox  = "alerts@contoso.com"
	e2eUser     = "adele@contoso.com"
)

// e2eWorld is a fake Entra ID and Office 365 sharing one CA, a temporary
// HOME, and what the runs printed (to check no secret leaked).
type e2eWorld struct {
	t      *testing.T
	ca     *testca.CA
	auth   *entratest.Authority
	smtp   *smtptest.Server
	dir    string
	home   string
	caFile string

	mu      sync.Mutex
	secrets []string // must never appear in any output
	tokens  []string // access tokens seen by the SMTP server or printed by `token`
	outputs []string // every stdout and stderr, except `token`'s stdout
}

type worldOptions struct {
	auth entratest.Options
	smtp smtptest.Options
	// app is registered in entratest (default: e2eAppID with e2eSecret).
	app *entratest.App
}

func newWorld(t *testing.T, opts worldOptions) *e2eWorld {
	t.Helper()
	if e2eBinary == "" {
		t.Fatal("the m365send binary did not build (see TestMain's output)")
	}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	w := &e2eWorld{t: t, ca: ca, dir: t.TempDir(), secrets: []string{e2eSecret}}
	opts.auth.Certificate = &ca.ServerCert
	w.auth, err = entratest.New(opts.auth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.auth.Close)
	app := entratest.App{ClientID: e2eAppID, Secret: e2eSecret}
	if opts.app != nil {
		app = *opts.app
	}
	if app.Mailboxes == nil {
		// Add-MailboxPermission on the profile's mailbox; a test that wants
		// none sets an empty, non-nil list.
		app.Mailboxes = []string{e2eMailbox}
	}
	if err := w.auth.AddApp(app); err != nil {
		t.Fatal(err)
	}
	w.auth.AddPublicClient(e2ePublicID)
	w.auth.AddUser(entratest.User{UPN: e2eUser})

	opts.smtp.Certificate = &ca.ServerCert
	opts.smtp.Verify = func(tok, user string) error {
		w.mu.Lock()
		w.tokens = append(w.tokens, tok)
		w.mu.Unlock()
		return w.auth.Verify(tok, user)
	}
	w.smtp = startSMTP(t, opts.smtp)

	w.home = filepath.Join(w.dir, "home")
	if err := os.MkdirAll(w.home, 0o700); err != nil {
		t.Fatal(err)
	}
	w.caFile = filepath.Join(w.dir, "ca.pem")
	if err := ca.WriteCertFile(w.caFile); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.checkNoLeaks)
	return w
}

// needles are the strings no output may hold: the secrets (client secret,
// private key lines), the access tokens the SMTP server saw or `token`
// printed, and every token entratest issued (access, refresh and ID
// tokens). Called with w.mu held.
func (w *e2eWorld) needles() []string {
	needles := append(append([]string{}, w.secrets...), w.tokens...)
	return append(needles, w.auth.IssuedTokens()...)
}

// checkNoLeaks fails the test if any output holds a secret or a token.
func (w *e2eWorld) checkNoLeaks() {
	w.mu.Lock()
	defer w.mu.Unlock()
	needles := w.needles()
	for _, out := range w.outputs {
		for _, n := range needles {
			if n != "" && strings.Contains(out, n) {
				w.t.Errorf("a secret or token (%.12s…) appears in the output:\n%s", n, out)
			}
		}
	}
}

// endpoints are the profile keys that point at the fakes.
func (w *e2eWorld) endpoints() string {
	return fmt.Sprintf("authority_host = %q\nsmtp_host = %q\nsmtp_port = %d\nca_file = %q\n",
		w.auth.URL(), w.smtp.Host(), w.smtp.Port(), w.caFile)
}

// appProfile is a client-credentials profile with the given credential
// line, in the world's tenant, pointing at the fakes.
func (w *e2eWorld) appProfile(name, credential string) string {
	return fmt.Sprintf("[profiles.%s]\nflow = \"client_credentials\"\ntenant = %q\nclient_id = %q\n%s\nmailbox = %q\nfrom_name = \"Contoso Alerts\"\n%s\n",
		name, w.auth.TenantID(), e2eAppID, credential, e2eMailbox, w.endpoints())
}

// writeConfig writes the default config file ($XDG_CONFIG_HOME/m365send/config.toml).
func (w *e2eWorld) writeConfig(content string) string {
	w.t.Helper()
	path := filepath.Join(w.home, ".config", "m365send", "config.toml")
	w.writeFile(path, content, 0o600)
	return path
}

func (w *e2eWorld) writeFile(path, content string, mode os.FileMode) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		w.t.Fatal(err)
	}
}

// runResult is what one run of the binary did.
type runResult struct {
	code   int
	stdout string
	stderr string
}

func (r runResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runOpts adjusts one run.
type runOpts struct {
	env    map[string]string
	stdin  string
	stdout *os.File // instead of a pipe
}

// run runs the binary with args in the world's HOME and XDG folders, with
// no environment but PATH, those and opts.env.
func (w *e2eWorld) run(opts runOpts, args ...string) runResult {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2eBinary, args...)
	env := map[string]string{
		"PATH":            os.Getenv("PATH"),
		"HOME":            w.home,
		"XDG_CONFIG_HOME": filepath.Join(w.home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(w.home, ".cache"),
		"LANG":            "C",
	}
	for k, v := range opts.env {
		env[k] = v
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Dir = w.dir
	cmd.Stdin = strings.NewReader(opts.stdin)
	var stdout, stderr bytes.Buffer
	if opts.stdout != nil {
		cmd.Stdout = opts.stdout
	} else {
		cmd.Stdout = &stdout
	}
	cmd.Stderr = &stderr
	code, err := exitStatus(cmd.Run())
	if err != nil {
		w.t.Fatalf("run m365send %q: %v", args, err)
	}
	res := runResult{stdout: stdout.String(), stderr: stderr.String(), code: code}
	w.mu.Lock()
	if len(args) > 0 && args[0] == "token" {
		if tok := strings.TrimSpace(res.stdout); tok != "" {
			w.tokens = append(w.tokens, tok)
		}
	} else {
		w.outputs = append(w.outputs, res.stdout)
	}
	w.outputs = append(w.outputs, res.stderr)
	w.mu.Unlock()
	return res
}

// received waits for the server's nth accepted message (1-based).
func (w *e2eWorld) received(n int) smtptest.Message {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := w.smtp.WaitMessages(ctx, n)
	if err != nil {
		w.t.Fatalf("server accepted %d messages, want %d: %v", len(msgs), n, err)
	}
	return msgs[n-1]
}

func wantExit(t *testing.T, r runResult, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\n%s", r.code, code, r)
	}
}

func TestE2ESendWithSecret(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	env := map[string]string{"ALERTS_SECRET": e2eSecret}

	r := w.run(runOpts{env: env, stdin: "The backup finished.\n"}, "send", "--to", "ops@contoso.com", "--subject", "backup done")
	wantExit(t, r, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("a successful send printed something:\n%s", r)
	}
	m := w.received(1)
	if m.User != e2eMailbox || m.From != e2eMailbox || strings.Join(m.To, ",") != "ops@contoso.com" {
		t.Errorf("server got user %q from %q to %q", m.User, m.From, m.To)
	}
	data := string(m.Data)
	for _, want := range []string{"Subject: backup done", "The backup finished.", `From: "Contoso Alerts" <alerts@contoso.com>`} {
		if !strings.Contains(data, want) {
			t.Errorf("message lacks %q:\n%s", want, data)
		}
	}

	// --json, a second message through the cached token.
	r = w.run(runOpts{env: env}, "send", "--json", "--body", "second", "--subject", "two", "bob@contoso.com", "--cc", "carol@contoso.com")
	wantExit(t, r, 0)
	var res struct {
		Status     string   `json:"status"`
		MessageID  string   `json:"message_id"`
		From       string   `json:"from"`
		Recipients []string `json:"recipients"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json printed %q: %v", r.stdout, err)
	}
	m = w.received(2)
	if res.Status != "sent" || res.From != e2eMailbox || res.MessageID == "" || !strings.Contains(string(m.Data), res.MessageID) ||
		strings.Join(res.Recipients, ",") != "bob@contoso.com,carol@contoso.com" {
		t.Errorf("--json runResult %+v; server got %q", res, m.Data)
	}
	if n := w.auth.Requests(entratest.EndpointToken, entratest.GrantClientCredentials); n != 1 {
		t.Errorf("%d client-credentials token requests for two sends, want 1 (the cache serves the second)", n)
	}

	// The secret from a command (no shell) and from a file, in other profiles.
	secretFile := filepath.Join(w.dir, "secret")
	w.writeFile(secretFile, e2eSecret+"\n", 0o600)
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`) +
		w.appProfile("cmd", fmt.Sprintf(`client_secret_command = ["cat", %q]`, secretFile)) +
		w.appProfile("file", fmt.Sprintf(`client_secret_file = %q`, secretFile)))
	for i, profile := range []string{"cmd", "file"} {
		r = w.run(runOpts{}, "send", "--profile", profile, "--to", "ops@contoso.com", "--body", profile)
		wantExit(t, r, 0)
		if m := w.received(3 + i); !strings.Contains(string(m.Data), profile) {
			t.Errorf("profile %s: server got %q", profile, m.Data)
		}
	}

	// A client-credentials profile has nobody to sign in.
	r = w.run(runOpts{env: env}, "login")
	wantExit(t, r, exitUsage)

	w.mu.Lock()
	if len(w.tokens) == 0 {
		t.Error("the SMTP server saw no token, so the leak check checks nothing")
	}
	w.mu.Unlock()
}

func TestE2ESendWithCertificate(t *testing.T) {
	certPEM, keyPEM, err := entratest.NewCertificate("m365send e2e")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, worldOptions{app: &entratest.App{ClientID: e2eAppID, CertificatePEM: certPEM}})
	w.secrets = append(w.secrets, keyLines(keyPEM)...)
	certFile := filepath.Join(w.dir, "app.pem")
	w.writeFile(certFile, string(certPEM)+string(keyPEM), 0o600)
	w.writeConfig(w.appProfile("cert", fmt.Sprintf("certificate_file = %q", certFile)))

	r := w.run(runOpts{}, "send", "--profile", "cert", "--to", "ops@contoso.com", "-s", "cert", "--body", "signed in with a certificate", "-v")
	wantExit(t, r, 0)
	if m := w.received(1); m.User != e2eMailbox || !strings.Contains(string(m.Data), "signed in with a certificate") {
		t.Errorf("server got %+v", m)
	}
	if !strings.Contains(r.stderr, "235") || !strings.Contains(r.stderr, "redacted") {
		t.Errorf("-v trace lacks the AUTH exchange:\n%s", r.stderr)
	}

	// The key file must be private.
	if err := os.Chmod(certFile, 0o644); err != nil {
		t.Fatal(err)
	}
	r = w.run(runOpts{}, "send", "--profile", "cert", "--to", "ops@contoso.com", "--body", "x")
	wantExit(t, r, exitConfig)
	if !strings.Contains(r.stderr, "hint: chmod 600 "+certFile) {
		t.Errorf("no chmod fix:\n%s", r)
	}
}

// cacheSecrets returns the secrets of each kind (AccessToken, RefreshToken,
// IdToken) in an MSAL cache file.
func cacheSecrets(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]map[string]struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("cache file: %v", err)
	}
	out := map[string][]string{}
	for _, kind := range []string{"AccessToken", "RefreshToken", "IdToken"} {
		for _, e := range c[kind] {
			out[kind] = append(out[kind], e.Secret)
		}
	}
	return out
}

// The leak check looks for every token a sign-in leaves in the cache
// (refresh and ID tokens too), and for every line of a private key.
func TestE2ELeakCheckCoversEveryIssuedToken(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.auth.OnDeviceCode(func(userCode string) { _ = w.auth.ApproveDeviceCode(userCode, e2eUser) })
	w.writeConfig(fmt.Sprintf("default_profile = \"me\"\n[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, w.endpoints()))
	wantExit(t, w.run(runOpts{}, "login"), 0)
	secrets := cacheSecrets(t, filepath.Join(w.home, ".cache", "m365send", "me.json"))
	w.mu.Lock()
	needles := w.needles()
	w.mu.Unlock()
	for _, kind := range []string{"AccessToken", "RefreshToken", "IdToken"} {
		if len(secrets[kind]) == 0 {
			t.Errorf("the cache holds no %s", kind)
		}
		for _, s := range secrets[kind] {
			if !slices.Contains(needles, s) {
				t.Errorf("the leak check does not look for the cached %s", kind)
			}
		}
	}
	_, keyPEM, err := entratest.NewCertificate("leak check")
	if err != nil {
		t.Fatal(err)
	}
	lines := keyLines(keyPEM)
	if len(lines) < 10 || slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "PRIVATE KEY") }) {
		t.Errorf("keyLines = %d lines, want every base64 body line and no BEGIN/END line", len(lines))
	}
}

func TestE2ESendEnvOnlyWithoutFile(t *testing.T) {
	w := newWorld(t, worldOptions{})
	env := map[string]string{
		"AZURE_TENANT_ID":         w.auth.TenantID(),
		"AZURE_CLIENT_ID":         e2eAppID,
		"AZURE_CLIENT_SECRET":     e2eSecret,
		"M365SEND_MAILBOX":        e2eMailbox,
		"M365SEND_AUTHORITY_HOST": w.auth.URL(),
		"M365SEND_SMTP_HOST":      w.smtp.Host(),
		"M365SEND_SMTP_PORT":      fmt.Sprint(w.smtp.Port()),
		"M365SEND_CA_FILE":        w.caFile,
	}
	r := w.run(runOpts{env: env, stdin: "from a container\n"}, "send", "--to", "ops@contoso.com", "-s", "env only")
	wantExit(t, r, 0)
	if _, err := os.Stat(filepath.Join(w.home, ".config", "m365send")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a config folder exists: %v", err)
	}
	if m := w.received(1); m.User != e2eMailbox || !strings.Contains(string(m.Data), "from a container") {
		t.Errorf("server got %+v", m)
	}
	// The token went to the default cache, $XDG_CACHE_HOME/m365send/default.json.
	fi, err := os.Stat(filepath.Join(w.home, ".cache", "m365send", "default.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v, %v", fi, err)
	}
}

func TestE2ELoginThenThreeSends(t *testing.T) {
	w := newWorld(t, worldOptions{})
	var codes []string
	var mu sync.Mutex
	w.auth.OnDeviceCode(func(userCode string) {
		mu.Lock()
		codes = append(codes, userCode)
		mu.Unlock()
		if err := w.auth.ApproveDeviceCode(userCode, e2eUser); err != nil {
			t.Error(err)
		}
	})
	// No mailbox: a person sends as themselves.
	w.writeConfig(fmt.Sprintf("default_profile = \"me\"\n[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, w.endpoints()))

	// Before login, sending needs a sign-in: 77.
	r := w.run(runOpts{}, "send", "--to", "ops@contoso.com", "--body", "too early")
	wantExit(t, r, exitNoPerm)
	if !strings.Contains(r.stderr, "m365send login") {
		t.Errorf("no pointer to login:\n%s", r)
	}

	r = w.run(runOpts{}, "login")
	wantExit(t, r, 0)
	mu.Lock()
	if len(codes) != 1 || !strings.Contains(r.stderr, codes[0]) {
		t.Errorf("login did not show the one user code %q:\n%s", codes, r)
	}
	mu.Unlock()
	if !strings.Contains(r.stderr, "Signed in as "+e2eUser) || r.stdout != "" {
		t.Errorf("login output:\n%s", r)
	}

	for i := 1; i <= 3; i++ {
		r := w.run(runOpts{}, "send", "--to", "ops@contoso.com", "--subject", fmt.Sprintf("note %d", i), "--body", "hello")
		wantExit(t, r, 0)
		m := w.received(i)
		if m.User != e2eUser || m.From != e2eUser {
			t.Errorf("message %d: user %q from %q, want %s", i, m.User, m.From, e2eUser)
		}
	}
	if n := w.auth.Requests(entratest.EndpointDeviceCode, ""); n != 1 {
		t.Errorf("%d device-code sign-ins, want exactly 1", n)
	}
	if n := w.auth.Requests(entratest.EndpointToken, entratest.GrantDeviceCode); n < 1 {
		t.Errorf("%d device-code token polls", n)
	}

	// logout forgets the sign-in: sending needs login again.
	r = w.run(runOpts{}, "logout")
	wantExit(t, r, 0)
	r = w.run(runOpts{}, "send", "--to", "ops@contoso.com", "--body", "after logout")
	wantExit(t, r, exitNoPerm)
}

func TestE2ETokenAcceptedBySMTPVerifier(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	r := w.run(runOpts{env: map[string]string{"ALERTS_SECRET": e2eSecret}}, "token")
	wantExit(t, r, 0)
	if r.stderr != "" || strings.Count(r.stdout, "\n") != 1 || !strings.HasSuffix(r.stdout, "\n") {
		t.Fatalf("token printed more than the token and a newline:\n%s", r)
	}
	tok := strings.TrimSuffix(r.stdout, "\n")
	if err := w.auth.Verify(tok, e2eMailbox); err != nil {
		t.Errorf("the SMTP server's verifier refuses the printed token: %v", err)
	}
	if err := w.auth.Verify(tok, "someone-else@contoso.com"); err != nil {
		t.Logf("(the app may send as any mailbox: %v)", err)
	}
}

// doctorCase is one broken (or healthy) setup and the step doctor must
// name.
type doctorCase struct {
	name  string
	world worldOptions
	// profile returns the config; nil: the standard secret profile.
	profile func(w *e2eWorld) string
	env     map[string]string
	// cachedFirst sends once with the right secret before doctor runs, so
	// a valid token is cached.
	cachedFirst bool
	code        int
	failed      string // the first FAIL step, "" for none
	detail      string // substring of the output
}

func TestE2EDoctor(t *testing.T) {
	std := func(w *e2eWorld) string {
		return "default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`)
	}
	for _, tc := range []doctorCase{
		{name: "healthy", code: 0, detail: "All checks passed"},
		{name: "wrong secret", env: map[string]string{"ALERTS_SECRET": "not-the-secret"}, code: exitConfig, failed: "token", detail: "7000215"},
		{name: "wrong secret with a valid token cached", cachedFirst: true, env: map[string]string{"ALERTS_SECRET": "not-the-secret"},
			code: exitConfig, failed: "token", detail: "7000215"},
		{name: "missing permission role", world: worldOptions{app: &entratest.App{ClientID: e2eAppID, Secret: e2eSecret, Roles: []string{}}},
			code: exitNoPerm, failed: "claims", detail: "SMTP.SendAsApp"},
		{name: "SMTP AUTH disabled", world: worldOptions{smtp: smtptest.Options{
			AuthReply: "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information."}},
			code: exitNoPerm, failed: "auth", detail: "5.7.139"},
		{name: "no mailbox permission", world: worldOptions{app: &entratest.App{ClientID: e2eAppID, Secret: e2eSecret, Mailboxes: []string{}}},
			code: exitNoPerm, failed: "auth", detail: "Add-MailboxPermission"},
		{name: "wrong audience (a Graph token)", world: worldOptions{app: &entratest.App{ClientID: e2eAppID, Secret: e2eSecret, Audience: "https://graph.microsoft.com"}},
			code: exitConfig, failed: "claims", detail: "graph.microsoft.com"},
		{name: "wrong audience (resource of another cloud)", profile: func(w *e2eWorld) string {
			return strings.Replace(std(w), "flow = ", "cloud = \"usgov\"\nflow = ", 1)
		}, code: exitConfig, failed: "token", detail: "70011"},
		{name: "unreachable host", profile: func(w *e2eWorld) string {
			return strings.Replace(std(w), fmt.Sprintf("smtp_port = %d", w.smtp.Port()), fmt.Sprintf("smtp_port = %d", testnet.RefusingPort(t)), 1)
		}, code: exitTempFail, failed: "tcp"},
		{name: "STARTTLS stripped", world: worldOptions{smtp: smtptest.Options{NoStartTLS: true}}, code: exitUnavailable, failed: "starttls", detail: "STARTTLS"},
		{name: "port 465", profile: func(w *e2eWorld) string {
			return strings.Replace(std(w), fmt.Sprintf("smtp_port = %d", w.smtp.Port()), "smtp_port = 465", 1)
		}, code: exitConfig, failed: "config", detail: "use 587 STARTTLS"},
		{name: "temporary SMTP failure", world: worldOptions{smtp: smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageAuth, Reply: "451 4.7.0 Temporary server error. Please try again later."}}}},
			code: exitTempFail, failed: "auth", detail: "4.7.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.world)
			cfg := std
			if tc.profile != nil {
				cfg = tc.profile
			}
			w.writeConfig(cfg(w))
			env := map[string]string{"ALERTS_SECRET": e2eSecret}
			for k, v := range tc.env {
				env[k] = v
			}
			if tc.cachedFirst {
				r := w.run(runOpts{env: map[string]string{"ALERTS_SECRET": e2eSecret}}, "send", "--to", "ops@contoso.com", "--body", "caches a token")
				wantExit(t, r, 0)
			}
			r := w.run(runOpts{env: env}, "doctor")
			t.Logf("m365send doctor:\n%s", r)
			if tc.failed != "" && tc.code == 0 {
				t.Fatal("a case with a failing step must say its exit code")
			}
			wantExit(t, r, tc.code)
			first := ""
			for _, line := range strings.Split(r.stdout, "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "FAIL" {
					first = f[1]
					break
				}
			}
			if first != tc.failed {
				t.Errorf("first failed step %q, want %q\n%s", first, tc.failed, r)
			}
			if tc.failed != "" && !strings.Contains(r.stdout, "fix: ") {
				t.Errorf("no fix printed:\n%s", r)
			}
			if !strings.Contains(r.stdout, tc.detail) {
				t.Errorf("output lacks %q:\n%s", tc.detail, r)
			}
			// The steps appear in order.
			last := -1
			for _, step := range []string{"config", "token", "claims", "dns", "tcp", "starttls", "mechanisms", "auth"} {
				i := strings.Index(r.stdout, " "+step+" ")
				if i < 0 || i < last {
					t.Errorf("step %s missing or out of order:\n%s", step, r.stdout)
					break
				}
				last = i
			}
		})
	}
}

func TestE2EExitCodes(t *testing.T) {
	w := newWorld(t, worldOptions{smtp: smtptest.Options{Faults: []smtptest.Fault{
		{Stage: smtptest.StageRcpt, N: 1, Reply: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"},
	}}})
	noRole := newWorld(t, worldOptions{app: &entratest.App{ClientID: e2eAppID, Secret: e2eSecret, Roles: []string{}}})
	for _, x := range []*e2eWorld{w, noRole} {
		x.writeConfig("default_profile = \"alerts\"\n" + x.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`) +
			fmt.Sprintf("[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\nmailbox = %q\n%s", x.auth.TenantID(), e2ePublicID, e2eUser, x.endpoints()) +
			"[profiles.bad]\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"my-app\"\n")
	}
	env := map[string]string{"ALERTS_SECRET": e2eSecret}
	readOnly, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()

	for _, tc := range []struct {
		name  string
		world *e2eWorld
		opts  runOpts
		args  []string
		code  int
		want  string // substring of stderr
	}{
		{"65 recipient refused", w, runOpts{env: env}, []string{"send", "--to", "nobody@contoso.com", "--body", "x"}, exitDataErr, "5.1.10"},
		{"0 sent", w, runOpts{env: env}, []string{"send", "--to", "ops@contoso.com", "--body", "x"}, exitOK, ""},
		{"64 usage", w, runOpts{env: env}, []string{"send", "--bogus"}, exitUsage, "unknown flag"},
		{"65 bad address", w, runOpts{env: env}, []string{"send", "--to", "not an address", "--body", "x"}, exitDataErr, "not an address"},
		{"70 internal (stdout unwritable)", w, runOpts{env: env, stdout: readOnly}, []string{"token"}, exitSoftware, "bad file descriptor"},
		{"0 logout (so the next test needs Entra ID)", w, runOpts{env: env}, []string{"--profile", "alerts", "logout"}, exitOK, ""},
		{"77 no SMTP.SendAsApp", noRole, runOpts{env: env}, []string{"send", "--to", "ops@contoso.com", "--body", "x"}, exitNoPerm, "5.7.3"},
		{"77 sign-in required", w, runOpts{env: env}, []string{"send", "--profile", "me", "--to", "ops@contoso.com", "--body", "x"}, exitNoPerm, "login"},
		{"78 wrong secret", w, runOpts{env: map[string]string{"ALERTS_SECRET": "wrong"}}, []string{"send", "--to", "ops@contoso.com", "--body", "x"}, exitConfig, "7000215"},
		{"78 malformed client id", w, runOpts{}, []string{"send", "--profile", "bad", "--to", "ops@contoso.com", "--body", "x"}, exitConfig, "not a GUID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.world.run(tc.opts, tc.args...)
			t.Logf("m365send %s:\n%s", strings.Join(tc.args, " "), r)
			wantExit(t, r, tc.code)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r)
			}
			if tc.code != 0 && !strings.HasPrefix(r.stderr, "m365send: ") {
				t.Errorf("stderr does not start with the one-line error:\n%s", r)
			}
		})
	}

	t.Run("77 as JSON", func(t *testing.T) {
		r := noRole.run(runOpts{env: env}, "send", "--json", "--to", "ops@contoso.com", "--body", "x")
		wantExit(t, r, exitNoPerm)
		var res map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("%v\n%s", err, r)
		}
		if res["status"] != "failed" || res["code"] != float64(535) || res["enhanced_code"] != "5.7.3" || res["exit_code"] != float64(77) || res["hint"] == "" {
			t.Errorf("--json failure: %s", r.stdout)
		}
	})

	t.Run("75 Entra ID unavailable", func(t *testing.T) {
		w.auth.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: 503, RetryAfter: time.Minute, Times: -1})
		defer w.auth.ClearFaults()
		r := w.run(runOpts{env: env}, "send", "--to", "ops@contoso.com", "--body", "x")
		wantExit(t, r, exitTempFail)
	})
}

func TestE2EInterruptedSendExits75(t *testing.T) {
	w := newWorld(t, worldOptions{smtp: smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageData, Stall: true}}}})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	cmd := exec.Command(e2eBinary, "send", "--to", "ops@contoso.com", "--body", "stalls at DATA")
	cmd.Env = []string{"HOME=" + w.home, "XDG_CONFIG_HOME=" + filepath.Join(w.home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(w.home, ".cache"), "ALERTS_SECRET=" + e2eSecret}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for w.smtp.Count(smtptest.StageData) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the send never reached DATA; stderr:\n%s", stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("the send ended before DATA: %v\n%s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitTempFail {
		t.Fatalf("interrupted send: %v, want exit 75\n%s", err, stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())
	if !strings.HasPrefix(stderr.String(), "m365send: ") {
		t.Errorf("no error line:\n%s", stderr.String())
	}
	w.mu.Lock()
	w.outputs = append(w.outputs, stderr.String())
	w.mu.Unlock()
	if len(w.smtp.Messages()) != 0 {
		t.Error("the server recorded a message that was interrupted")
	}
}

// A token cache others can read, or a cache folder that cannot be made, is
// a configuration error (78) for every command, told without the SMTP
// host and stages in front and with the fix on the hint line.
func TestE2ETokenCacheProblemsAreConfigErrors(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.writeConfig("default_profile = \"alerts\"\n" + w.appProfile("alerts", `client_secret_env = "ALERTS_SECRET"`))
	env := map[string]string{"ALERTS_SECRET": e2eSecret}
	r := w.run(runOpts{env: env}, "send", "--to", "ops@contoso.com", "--body", "caches the token")
	wantExit(t, r, 0)
	cache := filepath.Join(w.home, ".cache", "m365send", "alerts.json")
	if err := os.Chmod(cache, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"send", "--to", "ops@contoso.com", "--body", "x"},
		{"token"},
		{"doctor"},
	} {
		r := w.run(runOpts{env: env}, args...)
		t.Logf("m365send %s:\n%s", args[0], r)
		wantExit(t, r, exitConfig)
		out := r.stderr + r.stdout
		if !strings.Contains(out, "chmod 600 "+cache) || strings.Contains(out, "token: get token") || strings.Contains(out, "token: token") {
			t.Errorf("%s: want the cache message and a chmod 600 fix, without the stutter:\n%s", args[0], r)
		}
		if args[0] == "send" && (!strings.HasPrefix(r.stderr, "m365send: token cache is not private: "+cache) || !strings.Contains(r.stderr, "\n  hint: chmod 600 "+cache)) {
			t.Errorf("send: want the cache message and a hint line:\n%s", r)
		}
	}
	if err := os.Chmod(cache, 0o600); err != nil {
		t.Fatal(err)
	}

	env["M365SEND_CACHE_DIR"] = "/proc/nope"
	r = w.run(runOpts{env: env}, "send", "--to", "ops@contoso.com", "--body", "x")
	wantExit(t, r, exitConfig)
	if !strings.Contains(r.stderr, "hint: ") || !strings.Contains(r.stderr, "M365SEND_CACHE_DIR") {
		t.Errorf("no hint to set M365SEND_CACHE_DIR:\n%s", r)
	}
}

// Without a cache folder (no HOME, XDG_CACHE_HOME or M365SEND_CACHE_DIR)
// a sign-in could not outlive login: login refuses with 78 before asking
// Entra ID for a device code.
func TestE2ELoginWithoutCacheFolder(t *testing.T) {
	w := newWorld(t, worldOptions{})
	w.auth.OnDeviceCode(func(userCode string) { _ = w.auth.ApproveDeviceCode(userCode, e2eUser) })
	cfg := filepath.Join(w.dir, "m365send.toml")
	w.writeFile(cfg, fmt.Sprintf("default_profile = \"me\"\n[profiles.me]\nflow = \"device_code\"\ntenant = %q\nclient_id = %q\n%s",
		w.auth.TenantDomain(), e2ePublicID, w.endpoints()), 0o600)
	r := w.run(runOpts{env: map[string]string{"HOME": "", "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": ""}}, "--config", cfg, "login")
	wantExit(t, r, exitConfig)
	if !strings.Contains(r.stderr, "hint: set M365SEND_CACHE_DIR (or HOME/XDG_CACHE_HOME)") || strings.Contains(r.stderr, "Signed in") {
		t.Errorf("want a refusal naming M365SEND_CACHE_DIR:\n%s", r)
	}
	if n := w.auth.Requests(entratest.EndpointDeviceCode, ""); n != 0 {
		t.Errorf("%d device-code requests, want 0", n)
	}
}

// exitStatus turns the error of a finished exec.Cmd into its exit code: 0
// for success, the process's code when it exited otherwise. An error that
// is not an exit (the program did not start) is returned.
func exitStatus(err error) (int, error) {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	}
	return 0, err
}

// startSMTP starts a fake Office 365 for one test and closes it when the
// test ends.
func startSMTP(tb testing.TB, opts smtptest.Options) *smtptest.Server {
	tb.Helper()
	s, err := smtptest.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}
