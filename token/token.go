// Package token gets OAuth2 access tokens that Office 365 SMTP accepts from
// Microsoft Entra ID, with MSAL Go, and keeps them in a persistent cache.
//
// It supports client credentials (secret, certificate, federated assertion)
// for service principals and the device-code flow for people, and hands
// tokens out through an oauth2.TokenSource. It does not send mail; see the
// sender package.
//
// A Source is configured with a Config and hands out tokens; it keeps them
// in a cache file shared safely between processes (see Source). Failures
// from Entra ID come back as *Error with the AADSTS code and a hint.
//
// Cached app-only access tokens are bound to the client credential that
// obtained them (internal/credbind): a credential sidecar <cache file>.cred beside the cache
// records a fingerprint of it (an HMAC of a secret under a random salt,
// a certificate's SHA-256 thumbprint, a federated token file's path; never
// a secret). When the credential no longer matches, the cached tokens are
// not used and Entra ID is asked, so a wrong new credential fails at once
// instead of when the cached token runs out.
package token

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/internal/tokencache"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/credbind"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/httpclient"
	"github.com/m365send/m365send/internal/wait"
	"golang.org/x/oauth2"
)

// Flow names how a token is obtained.
type Flow string

const (
	// FlowClientCredentials is app-only access for a service principal.
	FlowClientCredentials Flow = "client_credentials"
	// FlowDeviceCode is delegated access for a person, signed in once with a
	// device code and refreshed silently afterwards.
	FlowDeviceCode Flow = "device_code"
)

// DeviceCode is what a person needs to complete a device-code sign-in.
type DeviceCode struct {
	// UserCode is the code the person enters at VerificationURL.
	UserCode string
	// VerificationURL is where the person signs in, such as
	// https://microsoft.com/devicelogin.
	VerificationURL string
	// Message is Entra ID's own instruction text.
	Message string
	// ExpiresAt is when the code stops working (15 minutes after it was
	// issued).
	ExpiresAt time.Time
}

// Config says how to obtain tokens. The zero value of each optional field
// is the safe default.
type Config struct {
	// Flow is FlowClientCredentials or FlowDeviceCode.
	Flow Flow
	// Tenant is the tenant's domain or GUID (not common or organizations
	// for client credentials).
	Tenant string
	// ClientID is the app registration's application (client) ID.
	ClientID string

	// FlowClientCredentials needs exactly one of the next three.

	// ClientSecret is the client secret's value.
	ClientSecret string
	// CertificateFile holds a PEM certificate and private key, or a
	// PKCS#12 file.
	CertificateFile string
	// CertificatePassword opens CertificateFile when it is a PKCS#12 file
	// with a password ("" for none; a PEM file ignores it).
	CertificatePassword string
	// FederatedTokenFile holds a federated (workload identity) assertion;
	// it is re-read on every acquisition.
	FederatedTokenFile string

	// Cloud is global (default), usgov, usgovdod or china.
	Cloud string
	// API is the service the tokens are for: APIExchange (the default,
	// SMTP AUTH) or APIGraph (Microsoft Graph's sendMail).
	API API
	// AuthorityHost overrides the cloud's Entra ID host ("host[:port]" or an
	// https URL). Setting it turns MSAL instance discovery off.
	AuthorityHost string
	// HTTPClient is used for every request to Entra ID (nil: a client with
	// the system roots that honours HTTPS_PROXY/NO_PROXY).
	HTTPClient *http.Client

	// CacheFile is the persistent cache file for this profile; "" keeps
	// tokens in memory only.
	CacheFile string
	// CacheKeyring, when set, keeps the cache's content in this keyring
	// (item CacheAccount) instead of CacheFile, which then names only the
	// lock file and the credential sidecar (neither holds a secret).
	CacheKeyring keyring.Keyring
	// CacheAccount is the keyring item's account name (used only with
	// CacheKeyring).
	CacheAccount string
	// MinValidity is how long a cached access token must still be valid to
	// be used (default and minimum 10 minutes).
	MinValidity time.Duration
	// LockTimeout bounds the wait for the profile's file lock held by
	// another process (default DefaultLockTimeout); after it the request
	// fails with a *LockError.
	LockTimeout time.Duration
	// SignIn is how Login signs a person in (default SignInDeviceCode).
	SignIn SignIn
	// DeviceCodePrompt shows the device code to the person (Login with
	// SignInDeviceCode).
	DeviceCodePrompt func(ctx context.Context, dc DeviceCode) error
	// OpenBrowser opens the sign-in page (Login with SignInBrowser) and
	// returns without waiting for the sign-in; if the browser fails later
	// it calls failed, which ends the sign-in.
	OpenBrowser func(url string, failed func(error)) error
	// PasteBack shows the sign-in address and returns the address the
	// browser ended on, as the person pasted it (Login with
	// SignInPasteBack).
	PasteBack func(ctx context.Context, signInURL string) (pasted string, err error)
	// Logger receives diagnostics (nil: discard). Never tokens or secrets.
	Logger *slog.Logger
	// OnEvent, if set, is told when a person signs in, a refresh token is
	// redeemed, or a token request finds that a person must sign in again
	// (FlowDeviceCode only; see Event). It runs on the caller's goroutine
	// after the profile's file lock is released.
	OnEvent func(Event)
}

// Source hands out access tokens for one profile. It is safe for
// concurrent use and implements oauth2.TokenSource.
//
// Every acquisition takes the profile's file lock, reloads the cache file,
// asks Entra ID only if no cached token has MinValidity left (or, for
// client credentials, the cached tokens were obtained with another
// credential), saves the cache and unlocks, so concurrent processes share
// one token. Within a
// process the last token is also kept in memory while it has MinValidity
// left, so there is no need to wrap a Source in oauth2.ReuseTokenSource
// (which would hand a token out until seconds before it expires).
type Source struct {
	cfg       Config
	cloud     cloud.Cloud
	authority string
	scopes    []string
	log       *slog.Logger
	sleep     func(ctx context.Context, d time.Duration) error

	// sem serialises acquisitions and guards the fields below. It is a
	// channel rather than a sync.Mutex so that a caller waiting behind a
	// long acquisition (a device-code Login takes minutes) gives up when
	// its ctx ends.
	sem   chan struct{}
	store *tokencache.Store
	conf  *confidential.Client
	pub   *public.Client
	// credID identifies the client credential (set with conf); cached
	// access tokens are used only if the cache is bound to it.
	credID *credbind.ID
	memo   *oauth2.Token
	// account is the account the last Login signed in.
	account string
	// noMemo turns the in-memory shortcut off (benchmarks of the file path).
	noMemo bool
}

var _ oauth2.TokenSource = (*Source)(nil)

// DefaultMinValidity is the least validity a cached access token must have
// left to be used: Office 365 HVE refuses tokens closer to expiry.
const DefaultMinValidity = 10 * time.Minute

// DefaultHTTPTimeout bounds each request to Entra ID made with a client
// from NewHTTPClient (the default when Config.HTTPClient is nil). The
// caller's ctx bounds them too.
const DefaultHTTPTimeout = 60 * time.Second

// NewHTTPClient returns the HTTP client for Entra ID: TLS 1.2 or later
// verified against roots (nil: the system roots), the proxy from
// HTTPS_PROXY/NO_PROXY, and DefaultHTTPTimeout per request.
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	return httpclient.New(roots, DefaultHTTPTimeout)
}

// maxAttempts is how often a temporary failure (5xx, 429, network) is
// tried in all before it is reported.
const maxAttempts = 3

// New validates cfg and returns a Source. It does no I/O. Its refusals
// carry no kind: the caller knows which profile they are about.
func New(cfg Config) (*Source, error) {
	switch cfg.Flow {
	case FlowClientCredentials, FlowDeviceCode:
	case "":
		return nil, errors.New("token: no flow: set client_credentials or device_code")
	default:
		return nil, fmt.Errorf("token: unknown flow %q (want client_credentials or device_code)", cfg.Flow)
	}
	if strings.TrimSpace(cfg.Tenant) == "" {
		return nil, errors.New("token: no tenant: set the tenant's domain or GUID")
	}
	if strings.ContainsAny(cfg.Tenant, "/?#") {
		return nil, fmt.Errorf("token: tenant %q is not a domain or GUID", cfg.Tenant)
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("token: no client ID")
	}
	if cfg.Flow == FlowClientCredentials {
		n := 0
		for _, v := range []string{cfg.ClientSecret, cfg.CertificateFile, cfg.FederatedTokenFile} {
			if v != "" {
				n++
			}
		}
		switch {
		case n == 0:
			return nil, errors.New("token: client credentials need a client secret, a certificate file or a federated token file")
		case n > 1:
			return nil, errors.New("token: set only one of client secret, certificate file and federated token file")
		}
	}
	cl, err := cloud.Lookup(cfg.Cloud)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	host := cl.AuthorityHost
	if cfg.AuthorityHost != "" {
		host = cfg.AuthorityHost
	}
	base, err := authorityBase(host)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if cfg.MinValidity < DefaultMinValidity {
		cfg.MinValidity = DefaultMinValidity
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = NewHTTPClient(nil)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{
		cfg:       cfg,
		cloud:     cl,
		authority: base + "/" + cfg.Tenant,
		log:       log,
		sleep:     wait.Sleep,
		sem:       make(chan struct{}, 1),
		store:     tokencache.New(cfg.CacheFile, cfg.MinValidity, log),
	}
	if cfg.LockTimeout > 0 {
		s.store.LockTimeout = cfg.LockTimeout
	}
	if cfg.CacheKeyring != nil && cfg.CacheFile != "" {
		s.store.Keyring, s.store.Account = cfg.CacheKeyring, cfg.CacheAccount
	}
	s.scopes, err = cfg.API.scopes(cl, cfg.Flow)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Scopes returns the scopes the source requests.
func (s *Source) Scopes() []string { return slices.Clone(s.scopes) }

// Cloud returns the cloud the source gets tokens for.
func (s *Source) Cloud() cloud.Cloud { return s.cloud }

// Token returns a cached token with enough validity left, or a new one.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext is Token with a context. For FlowDeviceCode it never prompts:
// with no signed-in account it returns an error matching ErrLoginRequired.
// ctx bounds everything it waits for: another acquisition of this Source,
// the profile's file lock held by another process, and Entra ID.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return s.acquire(ctx, false)
}

// Refresh ignores any cached access token and obtains a fresh one (used
// after Office 365 refuses a token with 535 5.7.3).
func (s *Source) Refresh(ctx context.Context) (*oauth2.Token, error) {
	return s.acquire(ctx, true)
}

// Login signs a person in the way Config.SignIn says (device code by
// default, showing the code through Config.DeviceCodePrompt) and caches
// the account and refresh token. It
// holds the profile's cache lock until the sign-in ends, so another process
// asking for a token meanwhile waits for (and then uses) this sign-in.
func (s *Source) Login(ctx context.Context) (*oauth2.Token, error) {
	if s.cfg.Flow != FlowDeviceCode {
		return nil, fmt.Errorf("token: login is for device_code profiles; %s profiles need no sign-in", s.cfg.Flow)
	}
	if err := s.cfg.checkSignIn(); err != nil {
		return nil, err
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	s.memo = nil
	var tok *oauth2.Token
	err := s.locked(ctx, false, func() error {
		var err error
		tok, err = s.login(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if werr := s.store.WriteErr; werr != nil {
		// The sign-in worked but would be lost with this process.
		dir := filepath.Dir(s.store.Path)
		advice := tokencache.WritableHint(dir) + ", then sign in again"
		if errors.Is(werr, syscall.ENOSPC) || errors.Is(werr, syscall.EDQUOT) {
			advice = "free some space on the file system holding " + dir + ", then sign in again"
		}
		return nil, &CacheError{Path: s.store.Path, Advice: advice,
			Err: fmt.Errorf("signed in, but the sign-in could not be saved: %s: %w", tokencache.WriteReason(dir, werr), werr)}
	}
	s.remember(tok)
	s.notify(EventSignedIn, tok.Expiry, s.account, nil)
	return tok, nil
}

// Logout forgets every cached token of this profile: it removes the cache
// file, any copies of it set aside as corrupt and its credential sidecar.
func (s *Source) Logout(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.unlock()
	s.memo = nil
	s.store.Mem = nil
	return ForgetIn(ctx, s.store.Path, s.store.Keyring, s.store.Account)
}

// acquire returns a token, from memory, the cache or Entra ID.
func (s *Source) acquire(ctx context.Context, force bool) (*oauth2.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if !force && !s.noMemo && s.memo != nil && time.Until(s.memo.Expiry) >= s.cfg.MinValidity {
		s.log.Info("access token from memory (this process got it earlier)",
			"expires_in", time.Until(s.memo.Expiry).Round(time.Second))
		return copyToken(s.memo), nil
	}
	s.memo = nil
	var tok *oauth2.Token
	var cached bool
	err := s.locked(ctx, force, func() error {
		// A valid cached token needs neither MSAL nor Entra ID (fastpath.go).
		if tok = s.fromCache(); tok != nil {
			cached = true
			return nil
		}
		var err error
		for attempt := 1; ; attempt++ {
			if s.cfg.Flow == FlowClientCredentials {
				tok, cached, err = s.clientCredentials(ctx)
			} else {
				tok, cached, err = s.silent(ctx)
			}
			var te *Error
			if err == nil || !errors.As(err, &te) {
				return err
			}
			wait := te.RetryAfter
			if wait <= 0 {
				wait = time.Duration(attempt) * 500 * time.Millisecond
			}
			if attempt >= maxAttempts || !te.Temporary || wait > maxRetryWait {
				s.log.Info(LogRequestFailed, "attempt", attempt, "error", err.Error())
				return err
			}
			s.log.Info(LogRequestFailed, "attempt", attempt, "error", err.Error(), "retry_in", wait)
			if serr := s.sleep(ctx, wait); serr != nil {
				return err
			}
		}
	})
	if err != nil {
		s.notify("", time.Time{}, "", err)
		return nil, err
	}
	if !cached {
		s.notify(EventRefreshed, tok.Expiry, "", nil)
	}
	s.logAcquired(tok, cached)
	s.remember(tok)
	return copyToken(tok), nil
}

// The messages of the records a Source logs (at Info) once per request to
// Entra ID's token endpoint, which package internal/metrics counts
// (docs/relay.md). A token from memory or the cache logs neither.
const (
	// LogNewToken: Entra ID issued an access token.
	LogNewToken = "new access token from Entra ID"
	// LogRequestFailed: a token request failed, answered by Entra ID or
	// on the way to it (the record's "retry_in" says when it is retried).
	LogRequestFailed = "token: Entra ID request failed"
)

// logAcquired says (at Info) where an access token came from, so that a
// cached token hiding a changed credential is visible. Never the token.
func (s *Source) logAcquired(tok *oauth2.Token, cached bool) {
	left := time.Until(tok.Expiry).Round(time.Second)
	switch {
	case cached:
		where := "token cache"
		if s.store.Path != "" {
			where = "token cache " + s.store.Path
		}
		if s.store.Keyring != nil {
			where = "token cache in the OS keyring"
		}
		s.log.Info("access token from the "+where+"; Entra ID was not asked, so the credential was not checked",
			"expires_in", left)
	case s.cfg.Flow == FlowClientCredentials:
		s.log.Info(LogNewToken, "credential", s.cfg.credentialKind(), "expires_in", left)
	default:
		s.log.Info(LogNewToken, "credential", "refresh token of the cached sign-in", "expires_in", left)
	}
}

// maxRetryWait is the longest Retry-After worth waiting for within one
// call; beyond it the error is reported (with RetryAfter set).
const maxRetryWait = 10 * time.Second

// lock takes the Source for one acquisition, waiting until it is free or
// ctx ends.
func (s *Source) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("token: wait for another token request of this profile: %w", ctx.Err())
	}
}

// unlock releases what lock took.
func (s *Source) unlock() { <-s.sem }

// locked runs f holding the profile's file lock (when there is a cache
// file) with the cache's force flag set as given.
func (s *Source) locked(ctx context.Context, force bool, f func() error) error {
	if err := s.store.Prepare(); err != nil {
		return err // a *CacheError, which names the token cache itself
	}
	if s.store.Path != "" {
		l, err := s.store.Lock(ctx)
		if err != nil {
			return err
		}
		defer l.Unlock()
	}
	s.store.WriteErr = nil
	s.store.Force = force
	defer func() { s.store.Force = false }()
	return f()
}

// remember keeps tok in memory for later calls.
func (s *Source) remember(tok *oauth2.Token) { s.memo = copyToken(tok) }

// bearer is the token handed out for an access token from MSAL.
func bearer(accessToken string, expiry time.Time) *oauth2.Token {
	return &oauth2.Token{AccessToken: accessToken, TokenType: "Bearer", Expiry: expiry}
}

func copyToken(t *oauth2.Token) *oauth2.Token {
	cp := *t
	return &cp
}

// ErrLoginRequired means a device-code profile has no usable sign-in: a
// person must sign in (Source.Login) before tokens can be had. Its kind
// is failure.SignIn; errors that wrap it (an *Error from a refused
// refresh token among them) match it with errors.Is.
var ErrLoginRequired error = loginRequiredError{}

// loginRequiredError is the type of ErrLoginRequired.
type loginRequiredError struct{}

func (loginRequiredError) Error() string {
	return "sign-in required: this profile has no usable sign-in"
}
func (loginRequiredError) Kind() failure.Kind { return failure.SignIn }
func (loginRequiredError) Hint() string       { return signInHint }

// Error is a failure reported by Entra ID or on the way to it.
type Error struct {
	// OAuthError is the OAuth error field, such as invalid_client.
	OAuthError string
	// Code is the AADSTS number (7000215 for AADSTS7000215), or 0.
	Code int
	// Description is Entra ID's error_description (never holds secrets).
	Description string
	// Advice is one line saying what to do, overriding the hint the
	// AADSTS table or the OAuth error gives; "" leaves those (see Hint).
	Advice string
	// Temporary is true for failures worth retrying later (5xx, 429,
	// network errors).
	Temporary bool
	// RetryAfter is how long Entra ID asked to wait (429/503 Retry-After),
	// or 0.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
