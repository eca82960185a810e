// Package session turns a profile into what sends mail: it loads the
// profile (config), resolves its client credential, and builds the token
// source (token) and the sender (sender) from it, as every command of
// m365send that signs in or sends starts.
package session

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/graph"
	"github.com/m365send/m365send/internal/clilog"
	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/pacing"
	"github.com/m365send/m365send/internal/status"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/transport"
)

// Session is a loaded profile with the token source and sender built from
// it: what send, sendmail, token, login and doctor all start from.
type Session struct {
	Profile *config.Profile
	Tokens  *token.Source
	Sender  *sender.Sender // nil when Options.NoSender
	// Cloud is the profile's cloud (authority, Exchange resource, SMTP
	// host), that of Tokens; the zero Cloud when Tokens is nil.
	Cloud cloud.Cloud
	// Mailbox is the address the sender authenticates and sends as ("" with
	// NoSender when the profile names none).
	Mailbox string
	// SMTPHost and SMTPPort are where the sender submits; SMTPHost is ""
	// when Tokens is nil and the profile names no smtp_host.
	SMTPHost string
	SMTPPort int
	// Log is the session's logger (see clilog.New).
	Log *slog.Logger
	// Transport sends the profile's mail, as its transport key says:
	// Sender, Graph, or a transport.Switcher over both (nil when
	// Options.NoSender).
	Transport transport.Transport
	// Graph sends through Microsoft Graph; nil unless the profile's
	// transport is graph or auto.
	Graph *graph.Sender
	// GraphTokens hands out the profile's tokens for Microsoft Graph
	// (same credential and cache file as Tokens); nil when Tokens is.
	GraphTokens *token.Source
	// Health records the profile's sign-in events and sends
	// (internal/status) and runs on_login_required.
	Health *status.Recorder
}

// Options selects and adjusts the profile.
type Options struct {
	ConfigFile string    // --config / -C
	Profile    string    // --profile
	Trace      io.Writer // -v: redacted SMTP trace, or nil

	// Getenv reads the environment and Environ is the whole environment
	// ("KEY=value"), as config.LoadOptions's Env and Environ.
	Getenv  func(string) string
	Environ []string
	// Stderr receives the warnings (and, with Trace, the diagnostics);
	// nil discards them.
	Stderr io.Writer

	// NoSender skips building the sender (login, token), so a
	// profile without a mailbox is fine.
	NoSender bool
	// NoCredential skips resolving the client secret (no secret command
	// runs, no secret file is read), for commands that need no client
	// credential (login). It implies NoSender. Tokens is then nil
	// for a client-credentials profile.
	NoCredential bool
	// DeviceCodePrompt shows a device code to the person (login).
	DeviceCodePrompt func(ctx context.Context, dc token.DeviceCode) error
	// SignIn, OpenBrowser and PasteBack choose and run a person's
	// sign-in (login; see token.Config).
	SignIn      token.SignIn
	OpenBrowser func(url string, failed func(error)) error
	PasteBack   func(ctx context.Context, signInURL string) (string, error)
	// Queue builds the sender for a queue.Deliverer: one try per message
	// and no pacing (the Deliverer retries and paces).
	Queue bool
	// OneTry makes the sender try each message once (a queue takes it
	// after a temporary failure, so retrying here only delays it).
	OneTry bool
	// Prog starts the warnings printed on standard error: "m365send"
	// when empty, "sendmail" for the sendmail interface.
	Prog string
	// Warnings prints the profile's warnings (an AZURE_* variable
	// overriding the file: config.Profile.Warnings) on Stderr; Trace (-v)
	// implies it, and with Trace every value's source is logged too.
	Warnings bool
	// NoWarnings turns Warnings and Trace's warnings off (a second Open
	// of the same profile).
	NoWarnings bool
	// LogHandler, if set, wraps the session's log handler: the relay's
	// metrics count the token requests from it (internal/metrics).
	LogHandler func(slog.Handler) slog.Handler
}

// prog is the program name warnings start with.
func (o Options) prog() string {
	if o.Prog == "" {
		return "m365send"
	}
	return o.Prog
}

// Open loads the profile (environment > file > default),
// resolves its secret and builds the token source (with the profile's
// cache file and CA) and the sender.
//
// A device-code profile without a mailbox sends as the signed-in person:
// the mailbox is then taken from the token's upn claim, which needs a
// token (and so a prior `m365send login`).
func Open(ctx context.Context, opts Options) (*Session, error) {
	p, err := LoadProfile(opts)
	if err != nil {
		return nil, err
	}
	log := clilog.New(opts.Stderr, opts.prog(), opts.Trace != nil)
	if opts.LogHandler != nil {
		log = slog.New(opts.LogHandler(log.Handler()))
	}
	if (opts.Warnings || opts.Trace != nil) && !opts.NoWarnings && opts.Stderr != nil {
		for _, w := range p.Warnings() {
			fmt.Fprintf(opts.Stderr, "%s: warning: %s\n", opts.prog(), w)
		}
	}
	if opts.Trace != nil && !opts.NoWarnings && !opts.Warnings { // doctor (Warnings) lists the sources itself
		for _, src := range p.Sources() {
			log.Info("value", "key", src.Key, "value", src.Value, "from", src.From, "overrides", src.Overrides, "note", src.Note)
		}
	}
	if opts.NoCredential {
		opts.NoSender = true
	}
	secret := ""
	if !opts.NoCredential {
		if secret, err = p.Secret(ctx); err != nil {
			return nil, err
		}
		logCredential(log, p)
	}
	certPassword, err := p.CertificatePassword()
	if err != nil {
		return nil, err
	}
	// Without a sender (token, login) the TLS roots are loaded only when
	// Entra ID must be asked: a cached token needs none.
	var pool *x509.CertPool
	httpClient := token.NewLazyHTTPClient(p.RootCAs)
	if !opts.NoSender {
		if pool, err = p.RootCAs(); err != nil {
			return nil, err
		}
		httpClient = token.NewHTTPClient(pool)
	}

	// config.Load has set SMTPPort (587 when the profile names none).
	s := &Session{Profile: p, Mailbox: p.Mailbox, SMTPHost: p.SMTPHost, SMTPPort: p.SMTPPort, Log: log,
		Health: status.NewRecorder(p, opts.Environ, log)}
	status.Adopt(ctx, p, log)
	if opts.NoCredential && p.Flow != config.FlowDeviceCode {
		return s, nil
	}
	cacheKeyring, warning := p.TokenKeyring()
	if warning != "" && opts.Stderr != nil {
		fmt.Fprintf(opts.Stderr, "%s: warning: %s\n", opts.prog(), warning)
	}
	tcfg := token.Config{
		Flow:                token.Flow(p.Flow),
		Tenant:              p.Tenant,
		ClientID:            p.ClientID,
		ClientSecret:        secret,
		CertificateFile:     p.CertificateFile,
		CertificatePassword: certPassword,
		FederatedTokenFile:  p.FederatedTokenFile,
		Cloud:               p.Cloud,
		AuthorityHost:       p.AuthorityHost,
		HTTPClient:          httpClient,
		CacheFile:           p.CacheFile(),
		CacheKeyring:        cacheKeyring,
		CacheAccount:        keyring.TokenAccount(p.Name),
		DeviceCodePrompt:    opts.DeviceCodePrompt,
		SignIn:              opts.SignIn,
		OpenBrowser:         opts.OpenBrowser,
		PasteBack:           opts.PasteBack,
		OnEvent:             s.Health.Event,
		Logger:              log,
	}
	tokens, err := token.New(tcfg)
	if err != nil {
		return nil, asConfigError(p, err)
	}
	s.Tokens = tokens
	gcfg := tcfg
	gcfg.API = token.APIGraph
	if s.GraphTokens, err = token.New(gcfg); err != nil {
		return nil, asConfigError(p, err)
	}
	s.Cloud = tokens.Cloud()
	if s.SMTPHost == "" {
		s.SMTPHost = s.Cloud.SMTPHost
	}
	if opts.NoSender {
		return s, nil
	}

	mailbox := p.Mailbox
	if mailbox == "" {
		if p.Flow != config.FlowDeviceCode {
			return nil, &config.Error{File: p.File, Key: "mailbox",
				Msg:    fmt.Sprintf("profile %q has no mailbox to send as", p.Name),
				Advice: "set mailbox in [profiles." + p.Name + "] or $M365SEND_MAILBOX"}
		}
		tok, err := tokens.TokenContext(ctx)
		if err != nil {
			return nil, s.Explain(err)
		}
		claims, err := token.ParseClaims(tok.AccessToken)
		if err != nil || claims.UPN == "" {
			return nil, &config.Error{File: p.File, Key: "mailbox",
				Msg:    "the signed-in account's address is not in its token",
				Advice: "set mailbox in [profiles." + p.Name + "] or $M365SEND_MAILBOX"}
		}
		mailbox = claims.UPN
	}
	// The sender's warnings (a refused message, a retry) end in an error
	// the command prints as its one line, or in success: without -v they
	// would only repeat it.
	senderLog := log
	if opts.Trace == nil {
		senderLog = clilog.NewLevel(opts.Stderr, opts.prog(), slog.LevelError)
	}
	rate, attempts := p.RatePerMinute, 0
	if opts.Queue {
		rate, attempts = -1, 1
	}
	if opts.OneTry {
		attempts = 1
	}
	shared, err := sharedLimits(opts, mailbox, rate)
	if err != nil {
		return nil, err
	}
	if shared != nil {
		shared.Waited = func(d time.Duration) {
			log.Info("waiting for the mailbox's rate, shared with the other m365send processes",
				"mailbox", mailbox, "wait", d.Round(time.Millisecond), "rate", shared.Rate, "window", shared.Window)
		}
	}
	cfg := sender.Config{
		Tokens:        explainingTokens{src: tokens, explain: s.Explain},
		Mailbox:       mailbox,
		Host:          s.SMTPHost,
		Port:          s.SMTPPort,
		RootCAs:       pool,
		RatePerMinute: rate,
		MaxAttempts:   attempts,
		Trace:         opts.Trace,
		Logger:        senderLog,
	}
	if shared != nil {
		cfg.Shared = shared
	}
	snd, err := sender.New(cfg)
	if err != nil {
		return nil, asConfigError(p, err)
	}
	s.Sender = snd
	s.Transport = snd
	s.Mailbox = mailbox
	if err := s.openGraph(opts, pool, senderLog, attempts); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadProfile loads the profile opts select (environment > file >
// default), without resolving its secret.
func LoadProfile(opts Options) (*config.Profile, error) {
	return config.Load(opts.LoadOptions())
}

// LoadOptions are the config.LoadOptions for the file, profile and
// environment opts name.
func (o Options) LoadOptions() config.LoadOptions {
	return config.LoadOptions{File: o.ConfigFile, Profile: o.Profile, Env: o.Getenv, Environ: o.Environ}
}

// flowInferredHint says why a profile that names no flow asks for a
// sign-in: a client credential meant for it may be missing or misspelt.
const flowInferredHint = "no client credential was found (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, " +
	"client_secret_env/_file/_command, certificate_file), so flow device_code was assumed: " +
	"set the credential, or sign in as a person"

// flowInferredError is a sign-in failure (token.ErrLoginRequired) for a
// profile whose flow was inferred; its hint is flowInferredHint.
type flowInferredError struct{ err error }

func (e *flowInferredError) Error() string      { return e.err.Error() }
func (e *flowInferredError) Unwrap() error      { return e.err }
func (e *flowInferredError) Kind() failure.Kind { return failure.SignIn }
func (e *flowInferredError) Hint() string       { return flowInferredHint }

// Explain adds why a sign-in is required to err when the profile's flow
// was inferred (see flowInferredHint); other errors pass unchanged.
func (s *Session) Explain(err error) error {
	if err == nil || !s.Profile.FlowInferred || !errors.Is(err, token.ErrLoginRequired) {
		return err
	}
	var fe *flowInferredError
	if errors.As(err, &fe) {
		return err
	}
	return &flowInferredError{err: err}
}

// explainingTokens is a token source whose errors pass through Explain,
// for the sender.
type explainingTokens struct {
	src     *token.Source
	explain func(error) error
}

// Token implements oauth2.TokenSource.
func (t explainingTokens) Token() (*oauth2.Token, error) {
	tok, err := t.src.Token()
	return tok, t.explain(err)
}

// TokenContext implements sender.ContextTokenSource.
func (t explainingTokens) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	tok, err := t.src.TokenContext(ctx)
	return tok, t.explain(err)
}

// Refresh implements sender.Refresher.
func (t explainingTokens) Refresh(ctx context.Context) (*oauth2.Token, error) {
	tok, err := t.src.Refresh(ctx)
	return tok, t.explain(err)
}

var (
	_ sender.ContextTokenSource = explainingTokens{}
	_ sender.Refresher          = explainingTokens{}
)

// logCredential says (at Info, so with -v) where the profile's client
// credential comes from, never its value.
func logCredential(log *slog.Logger, p *config.Profile) {
	src := p.CredentialSource()
	if src == "" {
		src = "device code sign-in (the cached refresh token)"
	}
	log.Info("credential", "profile", p.Name, "flow", string(p.Flow), "source", src)
}

// asConfigError reports a constructor's refusal (token.New, sender.New
// validate without I/O) as a configuration error, unless it already says
// what it is.
func asConfigError(p *config.Profile, err error) error {
	if failure.KindOf(err) != failure.Internal {
		return err
	}
	return &config.Error{File: p.File, Msg: fmt.Sprintf("profile %q: %v", p.Name, err), Err: err}
}

// sharedLimits paces the mailbox across processes (internal/pacing): its
// rate (rate_per_minute, 0 meaning Exchange Online's 30; none when
// negative) and 3 connections at once, with their state in the state
// folder's pacing folder. nil without a state folder.
func sharedLimits(opts Options, mailbox string, rate int) (*pacing.Limits, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir := config.StateDir(getenv)
	if dir == "" {
		return nil, nil
	}
	window, err := config.PacingWindow(getenv)
	if err != nil {
		return nil, err
	}
	if window == 0 {
		window = time.Minute
	}
	if rate == 0 {
		rate = sender.DefaultRatePerMinute
	}
	if rate < 0 {
		rate = 0
	}
	return &pacing.Limits{Dir: filepath.Join(dir, "pacing"), Mailbox: mailbox, Rate: rate, Window: window, Conns: sender.DefaultMaxConns}, nil
}
