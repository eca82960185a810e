package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// session is a loaded profile with the token source and sender built from
// it: what send, sendmail, token, login and doctor all start from.
type session struct {
	Profile *config.Profile
	Tokens  *token.Source
	Sender  *sender.Sender // nil when sessionOptions.NoSender
	// Cloud is the profile's cloud (authority, Exchange resource, SMTP host).
	Cloud token.Cloud
	// Mailbox is the address the sender authenticates and sends as ("" with
	// NoSender when the profile names none).
	Mailbox string
	// SMTPHost and SMTPPort are where the sender submits.
	SMTPHost string
	SMTPPort int
}

// sessionOptions selects and adjusts the profile.
type sessionOptions struct {
	ConfigFile string            // --config / -C
	Profile    string            // --profile
	Overrides  map[string]string // flag values by config key
	Trace      io.Writer         // -v: redacted SMTP trace, or nil

	// NoSender skips building the sender (login, logout, token), so a
	// profile without a mailbox is fine.
	NoSender bool
	// DeviceCodePrompt shows a device code to the person (login).
	DeviceCodePrompt func(ctx context.Context, dc token.DeviceCode) error
}

// entraTimeout bounds one request to Entra ID.
const entraTimeout = 60 * time.Second

// newSession loads the profile (flag > environment > file > default),
// resolves its secret and builds the token source (with the profile's
// cache file and CA) and the sender.
//
// A device-code profile without a mailbox sends as the signed-in person:
// the mailbox is then taken from the token's upn claim, which needs a
// token (and so a prior `m365send login`).
func newSession(ctx context.Context, stdio IO, opts sessionOptions) (*session, error) {
	p, err := config.Load(config.LoadOptions{
		File:      opts.ConfigFile,
		Profile:   opts.Profile,
		Env:       stdio.Env,
		Overrides: opts.Overrides,
	})
	if err != nil {
		return nil, err
	}
	secret, err := p.Secret(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := p.RootCAs()
	if err != nil {
		return nil, err
	}
	cloud, err := token.LookupCloud(p.Cloud)
	if err != nil {
		return nil, &config.Error{File: p.File, Key: "cloud", Msg: err.Error(), Err: err}
	}

	var logger *slog.Logger
	if opts.Trace != nil {
		logger = slog.New(slog.NewTextHandler(opts.Trace, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tokens, err := token.New(token.Config{
		Flow:               token.Flow(p.Flow),
		Tenant:             p.Tenant,
		ClientID:           p.ClientID,
		ClientSecret:       secret,
		CertificateFile:    p.CertificateFile,
		FederatedTokenFile: p.FederatedTokenFile,
		Cloud:              p.Cloud,
		AuthorityHost:      p.AuthorityHost,
		HTTPClient:         entraClient(pool),
		CacheFile:          p.CacheFile(),
		DeviceCodePrompt:   opts.DeviceCodePrompt,
		Logger:             logger,
	})
	if err != nil {
		return nil, asConfigError(p, err)
	}
	s := &session{Profile: p, Tokens: tokens, Cloud: cloud, Mailbox: p.Mailbox, SMTPHost: p.SMTPHost, SMTPPort: p.SMTPPort}
	if s.SMTPHost == "" {
		s.SMTPHost = cloud.SMTPHost
	}
	if s.SMTPPort == 0 {
		s.SMTPPort = config.DefaultSMTPPort
	}
	if opts.NoSender {
		return s, nil
	}

	mailbox := p.Mailbox
	if mailbox == "" {
		if p.Flow != config.FlowDeviceCode {
			return nil, &config.Error{File: p.File, Key: "mailbox",
				Msg:  fmt.Sprintf("profile %q has no mailbox to send as", p.Name),
				Hint: "set mailbox in [profiles." + p.Name + "] or $M365SEND_MAILBOX"}
		}
		tok, err := tokens.TokenContext(ctx)
		if err != nil {
			return nil, err
		}
		claims, err := token.ParseClaims(tok.AccessToken)
		if err != nil || claims.UPN == "" {
			return nil, &config.Error{File: p.File, Key: "mailbox",
				Msg:  "the signed-in account's address is not in its token",
				Hint: "set mailbox in [profiles." + p.Name + "] or $M365SEND_MAILBOX"}
		}
		mailbox = claims.UPN
	}
	snd, err := sender.New(sender.Config{
		Tokens:        tokens,
		Mailbox:       mailbox,
		Host:          s.SMTPHost,
		Port:          s.SMTPPort,
		RootCAs:       pool,
		RatePerMinute: p.RatePerMinute,
		Trace:         opts.Trace,
		Logger:        logger,
	})
	if err != nil {
		return nil, asConfigError(p, err)
	}
	s.Sender = snd
	s.Mailbox = mailbox
	return s, nil
}

// entraClient is the HTTP client for Entra ID: the given roots (system +
// ca_file), TLS 1.2 or later, HTTPS_PROXY/NO_PROXY honoured.
func entraClient(pool *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: entraTimeout}
}

// asConfigError reports a constructor's refusal (token.New, sender.New
// validate without I/O) as a configuration error, unless it already says
// what it is.
func asConfigError(p *config.Profile, err error) error {
	if exitCodeFor(err) != exitSoftware {
		return err
	}
	return &config.Error{File: p.File, Msg: fmt.Sprintf("profile %q: %v", p.Name, err), Err: err}
}
