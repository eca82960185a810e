// Package sandbox runs a fake Microsoft Entra ID (token/entratest), a fake
// Office 365 submission server (sender/smtptest) and a fake Microsoft Graph
// (graph/graphtest) on loopback, sharing one throwaway CA, and writes an m365send configuration that points at them:
// the CA file, a secret file and a config file with two profiles, one
// app-only ("sandbox", client credentials with a secret) and one delegated
// ("sandbox-user", a person: device code or browser sign-in, approved
// automatically by the fake).
//
// It is what `m365send sandbox` starts, so that a newcomer can watch the
// real code path (MSAL over HTTPS, go-mail over STARTTLS and XOAUTH2) work
// without a tenant, and the world the command-line tests
// (cmd/m365send/testdata/script) run the real binary in: they adjust the
// fakes through Options and write their own profiles from Vars. It holds no client logic itself: the command sends
// through the profiles like any other. It is not a mail server (the demo's
// relay is package relay, run on loopback), and it must never face a real
// network.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/graph/graphtest"
	"github.com/m365send/m365send/internal/testca"
	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token/entratest"
)

// Names and identities the sandbox sets up.
const (
	// AppProfile is the app-only profile (client credentials, secret).
	AppProfile = "sandbox"
	// UserProfile is the delegated profile (device code).
	UserProfile = "sandbox-user"
	// GraphProfile is the app-only profile that sends through Microsoft
	// Graph (transport = "graph").
	GraphProfile = "sandbox-graph"
	// AppMailbox is the mailbox the app may send as.
	AppMailbox = "alerts@contoso.com"
	// UserUPN is the person every sign-in (device code or browser) is
	// approved for.
	UserUPN = "adele@contoso.com"
	// AppClientID is the confidential client's application ID.
	AppClientID = "5b1e7d04-4d52-4c4e-9d0e-5a4d0b7c1a01"
	// PublicClientID is the public client's application ID.
	PublicClientID = "9c2f8a13-6e1b-4f0a-8c3d-2b7e6f5a4d02"

	// ConfigFileName, CAFileName and SecretFileName are the files written
	// in Options.Dir; CacheDirName is the token cache folder there.
	ConfigFileName = "config.toml"
	CAFileName     = "ca.pem"
	SecretFileName = "sandbox.secret"
	CacheDirName   = "cache"
	// RelayDirName is the demo relay's state folder (its certificate and
	// spool) in Options.Dir.
	RelayDirName = "relay"
)

// Options configures Start.
type Options struct {
	// Dir receives the config, CA, secret and token cache. It is created
	// (mode 0700) if missing; "" is an error, so that nothing is written
	// anywhere by surprise.
	Dir string
	// Logger receives the fakes' diagnostics (nil: discard). Never secrets
	// or tokens.
	Logger *slog.Logger

	// Entra adjusts the fake Entra ID. Certificate is always the sandbox
	// CA's; AutoApprove defaults to UserUPN (set it to "-" for none);
	// Logger defaults to Options.Logger.
	Entra entratest.Options
	// SMTP adjusts the fake Office 365. Certificate is always the sandbox
	// CA's; a nil Verify is the fake Entra ID's (Authority.Verify).
	SMTP smtptest.Options
	// Graph adjusts the fake Microsoft Graph. Certificate is always the
	// sandbox CA's; a nil Verify is the fake Entra ID's
	// (Authority.VerifyGraph).
	Graph graphtest.Options
	// App, if set, replaces the app registration. An empty ClientID is
	// AppClientID; nil Mailboxes are [AppMailbox] (an empty non-nil list
	// grants none); with neither Secret nor a certificate, the sandbox's
	// generated secret (the one in SecretFile) is the app's.
	App *entratest.App
}

// Sandbox is a running fake Entra ID and Office 365 with the files that
// point m365send at them.
type Sandbox struct {
	// Dir holds the files below.
	Dir string
	// ConfigFile is the config file with AppProfile and UserProfile.
	ConfigFile string
	// CAFile is the throwaway CA's certificate (PEM), the profiles' ca_file.
	CAFile string
	// SecretFile holds the app's client secret (mode 0600).
	SecretFile string
	// CacheDir is the profiles' token cache folder.
	CacheDir string

	// Authority is the fake Entra ID.
	Authority *entratest.Authority
	// SMTP is the fake Office 365 submission server.
	SMTP *smtptest.Server
	// Graph is the fake Microsoft Graph.
	Graph *graphtest.Server

	appID string // the app registration's client ID
}

// Start starts both fakes on 127.0.0.1 and writes the files. Close stops
// them; the files stay for the caller to remove with Dir.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Dir == "" {
		return nil, errors.New("sandbox: Options.Dir is empty")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(opts.Dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	// The config and secret must not be readable by others, nor the folder
	// holding them listable; a folder that was there keeps its mode (the
	// files themselves are 0600).
	if created {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	ca, err := testca.New()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	secret, err := newSecret()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	eopts := opts.Entra
	eopts.Certificate = &ca.ServerCert
	switch eopts.AutoApprove {
	case "":
		eopts.AutoApprove = UserUPN
	case "-":
		eopts.AutoApprove = ""
	}
	if eopts.Logger == nil {
		eopts.Logger = opts.Logger
	}
	auth, err := entratest.New(eopts)
	if err != nil {
		return nil, fmt.Errorf("sandbox: start fake Entra ID: %w", err)
	}
	app := entratest.App{Secret: secret}
	if opts.App != nil {
		app = *opts.App
		if app.Secret == "" && app.Certificate == nil && len(app.CertificatePEM) == 0 {
			app.Secret = secret
		}
	}
	if app.ClientID == "" {
		app.ClientID = AppClientID
	}
	if app.Mailboxes == nil {
		app.Mailboxes = []string{AppMailbox}
	}
	if err := auth.AddApp(app); err != nil {
		auth.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	auth.AddPublicClient(PublicClientID)
	auth.AddUser(entratest.User{UPN: UserUPN})

	sopts := opts.SMTP
	sopts.Certificate = &ca.ServerCert
	if sopts.Verify == nil {
		sopts.Verify = auth.Verify
	}
	srv, err := smtptest.New(sopts)
	if err != nil {
		auth.Close()
		return nil, fmt.Errorf("sandbox: start fake Office 365: %w", err)
	}

	gopts := opts.Graph
	gopts.Certificate = &ca.ServerCert
	if gopts.Verify == nil {
		gopts.Verify = auth.VerifyGraph
	}
	if gopts.Logger == nil {
		gopts.Logger = opts.Logger
	}
	gsrv, err := graphtest.New(gopts)
	if err != nil {
		auth.Close()
		_ = srv.Close()
		return nil, fmt.Errorf("sandbox: start fake Microsoft Graph: %w", err)
	}
	s := &Sandbox{
		Graph:      gsrv,
		Dir:        dir,
		ConfigFile: filepath.Join(dir, ConfigFileName),
		CAFile:     filepath.Join(dir, CAFileName),
		SecretFile: filepath.Join(dir, SecretFileName),
		CacheDir:   filepath.Join(dir, CacheDirName),
		Authority:  auth,
		SMTP:       srv,
		appID:      app.ClientID,
	}
	if err := s.writeFiles(ca, secret); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Vars are the sandbox's endpoints, files and identities by name, for
// tests and scripts that write their own profiles (the names are shell
// variable names, the values as a profile takes them):
//
//	AUTHORITY_HOST  the fake Entra ID's URL (authority_host)
//	TENANT_ID       the tenant's GUID
//	TENANT_DOMAIN   the tenant's domain
//	SMTP_HOST       the fake Office 365's host (smtp_host)
//	SMTP_PORT       its port (smtp_port)
//	GRAPH_URL       the fake Microsoft Graph's endpoint (graph_url)
//	CA_FILE         the throwaway CA's certificate (ca_file)
//	SECRET_FILE     the file holding the app's generated client secret
//	CONFIG_FILE     the sandbox's own config file
//	APP_ID          the app's client ID
//	PUBLIC_ID       the public client's ID (device code)
//	APP_MAILBOX     the mailbox the app may send as
//	USER_UPN        the person device codes are approved for
func (s *Sandbox) Vars() map[string]string {
	return map[string]string{
		"AUTHORITY_HOST": s.Authority.URL(),
		"TENANT_ID":      s.Authority.TenantID(),
		"TENANT_DOMAIN":  s.Authority.TenantDomain(),
		"SMTP_HOST":      s.SMTP.Host(),
		"SMTP_PORT":      strconv.Itoa(s.SMTP.Port()),
		"GRAPH_URL":      s.Graph.URL(),
		"CA_FILE":        s.CAFile,
		"SECRET_FILE":    s.SecretFile,
		"CONFIG_FILE":    s.ConfigFile,
		"APP_ID":         s.appID,
		"PUBLIC_ID":      PublicClientID,
		"APP_MAILBOX":    AppMailbox,
		"USER_UPN":       UserUPN,
	}
}

// Close stops the fakes.
func (s *Sandbox) Close() error {
	s.Authority.Close()
	s.Graph.Close()
	return s.SMTP.Close()
}

// newSecret makes a random client secret shaped like Entra ID's.
func newSecret() (string, error) {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("client secret: %w", err)
	}
	enc := base64.RawURLEncoding.EncodeToString(b)
	return enc[:3] + "8Q~" + enc[3:], nil
}

func (s *Sandbox) writeFiles(ca *testca.CA, secret string) error {
	if err := ca.WriteCertFile(s.CAFile); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.MkdirAll(s.CacheDir, 0o700); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := writePrivate(s.SecretFile, []byte(secret)); err != nil {
		return err
	}
	return writePrivate(s.ConfigFile, []byte(s.configText()))
}

// writePrivate writes a 0600 file, tightening an existing one first.
func writePrivate(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// configText is the config file: both profiles, trusting the throwaway CA
// through ca_file (not the system store). The secret is referenced by file.
func (s *Sandbox) configText() string {
	host, port := s.SMTP.Host(), s.SMTP.Port()
	q := strconv.Quote
	common := func(b *strings.Builder) {
		fmt.Fprintf(b, "tenant = %s\n", q(s.Authority.TenantDomain()))
		fmt.Fprintf(b, "authority_host = %s\n", q(s.Authority.URL()))
		fmt.Fprintf(b, "smtp_host = %s\n", q(host))
		fmt.Fprintf(b, "smtp_port = %d\n", port)
		fmt.Fprintf(b, "graph_url = %s\n", q(s.Graph.URL()))
		fmt.Fprintf(b, "ca_file = %s\n", q(s.CAFile))
		fmt.Fprintf(b, "cache_dir = %s\n", q(s.CacheDir))
	}
	var b strings.Builder
	b.WriteString("# Written by `m365send sandbox`: a fake Entra ID and a fake Office 365 on\n")
	b.WriteString("# loopback, trusted through ca_file. Valid while that sandbox runs.\n")
	fmt.Fprintf(&b, "default_profile = %s\n\n", q(AppProfile))

	fmt.Fprintf(&b, "# App-only: client credentials with a secret, sending as %s.\n", AppMailbox)
	fmt.Fprintf(&b, "[profiles.%s]\n", AppProfile)
	fmt.Fprintf(&b, "flow = %s\n", q("client_credentials"))
	fmt.Fprintf(&b, "client_id = %s\n", q(AppClientID))
	fmt.Fprintf(&b, "client_secret_file = %s\n", q(s.SecretFile))
	fmt.Fprintf(&b, "mailbox = %s\n", q(AppMailbox))
	fmt.Fprintf(&b, "from_name = %s\n", q("Sandbox Alerts"))
	common(&b)

	fmt.Fprintf(&b, "\n# Delegated: a person signs in (login); the sandbox approves every sign-in as %s.\n", UserUPN)
	fmt.Fprintf(&b, "[profiles.%s]\n", UserProfile)
	fmt.Fprintf(&b, "flow = %s\n", q("device_code"))
	fmt.Fprintf(&b, "client_id = %s\n", q(PublicClientID))
	fmt.Fprintf(&b, "mailbox = %s\n", q(UserUPN))
	common(&b)

	fmt.Fprintf(&b, "\n# App-only through Microsoft Graph (sendMail), sending as %s.\n", AppMailbox)
	fmt.Fprintf(&b, "[profiles.%s]\n", GraphProfile)
	fmt.Fprintf(&b, "flow = %s\n", q("client_credentials"))
	fmt.Fprintf(&b, "client_id = %s\n", q(AppClientID))
	fmt.Fprintf(&b, "client_secret_file = %s\n", q(s.SecretFile))
	fmt.Fprintf(&b, "mailbox = %s\n", q(AppMailbox))
	fmt.Fprintf(&b, "transport = %s\n", q("graph"))
	common(&b)
	return b.String()
}

// Env returns base without the AZURE_* and M365SEND_* variables, which
// override a profile's file values (config's environment overlay): a
// sandbox run hides them, so that a shell set up for a real tenant cannot
// redirect the sandbox profiles.
func Env(base func(string) string) func(string) string {
	return func(k string) string {
		if base == nil || strings.HasPrefix(k, "AZURE_") || strings.HasPrefix(k, "M365SEND_") {
			return ""
		}
		return base(k)
	}
}

// WriteInstructions tells a person how to use the running sandbox; prog is
// the command name to show (such as "m365send").
func (s *Sandbox) WriteInstructions(w io.Writer, prog string) error {
	cfg := config.ShellQuote(s.ConfigFile)
	_, err := fmt.Fprintf(w, `Fake Entra ID:   %s (tenant %s)
Fake Office 365: %s (STARTTLS, AUTH XOAUTH2)
Throwaway CA:    %s (the profiles trust it through ca_file)
Config file:     %s (profiles %q and %q)

Send as the app (client credentials; the app may send as %s):
  %s --config %s send --profile %s --to someone@example.com --subject hello --body 'first message'

Sign in as a person (device code; the sandbox approves it as %s), then send:
  %s --config %s login --device-code --profile %s
  %s --config %s send --profile %s --to someone@example.com --subject hello --body 'from adele'

Run "%s --config %s doctor --profile %s" to see every check pass.
AZURE_* and M365SEND_* variables override profile values: unset them in the
shell you send from. Nothing leaves this machine: the fake server records
messages and relays none.
`,
		s.Authority.URL(), s.Authority.TenantDomain(),
		s.SMTP.Addr(), s.CAFile,
		s.ConfigFile, AppProfile, UserProfile,
		AppMailbox,
		prog, cfg, AppProfile,
		UserUPN,
		prog, cfg, UserProfile,
		prog, cfg, UserProfile,
		prog, cfg, AppProfile)
	return err
}

// WriteMessage prints what the fake server received for one message: the
// envelope, the authenticated user and the header section.
func WriteMessage(w io.Writer, m smtptest.Message) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- message %d received by the fake Office 365 (connection %d)\n", m.Seq, m.Conn)
	fmt.Fprintf(&b, "AUTH XOAUTH2 user: %s\n", m.User)
	fmt.Fprintf(&b, "MAIL FROM:         <%s>\n", m.From)
	for _, rcpt := range m.To {
		fmt.Fprintf(&b, "RCPT TO:           <%s>\n", rcpt)
	}
	fmt.Fprintf(&b, "size:              %d bytes\n", m.Size)
	head := string(m.Data)
	if i := strings.Index(head, "\r\n\r\n"); i >= 0 {
		head = head[:i]
	}
	if head != "" {
		b.WriteString("headers:\n")
		for _, line := range strings.Split(head, "\r\n") {
			b.WriteString("  " + line + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
