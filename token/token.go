// Package token gets OAuth2 access tokens that Office 365 SMTP accepts from
// Microsoft Entra ID, with MSAL Go, and keeps them in a persistent cache.
//
// It supports client credentials (secret, certificate, federated assertion)
// for service principals and the device-code flow for people, and hands
// tokens out through an oauth2.TokenSource. It does not send mail; see the
// sender package.
//
// API CONTRACT (skeleton): the exported names below are what the CLI and the
// sender build against. Bodies are filled in by the token issue (#2).
package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

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

// Cloud is a Microsoft cloud: where Entra ID and Exchange Online live.
type Cloud struct {
	// Name is global, usgov, usgovdod or china.
	Name string
	// AuthorityHost is Entra ID's host, such as login.microsoftonline.com.
	AuthorityHost string
	// Resource is the Exchange Online resource, such as
	// https://outlook.office365.com.
	Resource string
	// SMTPHost is the client submission host, such as smtp.office365.com.
	SMTPHost string
}

// LookupCloud returns the cloud with the given name; "" means global.
func LookupCloud(name string) (Cloud, error) {
	return Cloud{}, errors.New("not implemented")
}

// AppScope is the app-only scope: the resource + "/.default".
func (c Cloud) AppScope() string { return c.Resource + "/.default" }

// DelegatedScope is the delegated scope: the resource + "/SMTP.Send".
func (c Cloud) DelegatedScope() string { return c.Resource + "/SMTP.Send" }

// DeviceCode is what a person needs to complete a device-code sign-in.
type DeviceCode struct {
	UserCode        string
	VerificationURL string
	// Message is Entra ID's own instruction text.
	Message   string
	ExpiresAt time.Time
}

// Config says how to obtain tokens. The zero value of each optional field
// is the safe default.
type Config struct {
	Flow     Flow
	Tenant   string // domain or GUID
	ClientID string

	// Exactly one credential for FlowClientCredentials.
	ClientSecret       string
	CertificateFile    string // PEM certificate + private key, or a password-less PKCS#12 file
	FederatedTokenFile string // assertion, re-read on every acquisition

	// Cloud is global (default), usgov, usgovdod or china.
	Cloud string
	// AuthorityHost overrides the cloud's Entra ID host ("host[:port]" or an
	// https URL). Setting it turns MSAL instance discovery off.
	AuthorityHost string
	// HTTPClient is used for every request to Entra ID (nil: a client with
	// the system roots that honours HTTPS_PROXY/NO_PROXY).
	HTTPClient *http.Client

	// CacheFile is the persistent cache file for this profile; "" keeps
	// tokens in memory only.
	CacheFile string
	// MinValidity is how long a cached access token must still be valid to
	// be used (default and minimum 10 minutes).
	MinValidity time.Duration
	// DeviceCodePrompt shows the device code to the person (Login only).
	DeviceCodePrompt func(ctx context.Context, dc DeviceCode) error
	// Logger receives diagnostics (nil: discard). Never tokens or secrets.
	Logger *slog.Logger
}

// Source hands out access tokens for one profile. It is safe for
// concurrent use and implements oauth2.TokenSource.
type Source struct{}

var _ oauth2.TokenSource = (*Source)(nil)

// New validates cfg and returns a Source. It does no I/O.
func New(cfg Config) (*Source, error) { return nil, errors.New("not implemented") }

// Scopes returns the scopes the source requests.
func (s *Source) Scopes() []string { return nil }

// Token returns a cached token with enough validity left, or a new one.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext is Token with a context. For FlowDeviceCode it never prompts:
// with no signed-in account it returns an error matching ErrLoginRequired.
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return nil, errors.New("not implemented")
}

// Refresh ignores any cached access token and obtains a fresh one (used
// after Office 365 refuses a token with 535 5.7.3).
func (s *Source) Refresh(ctx context.Context) (*oauth2.Token, error) {
	return nil, errors.New("not implemented")
}

// Login runs the device-code flow, showing the code through
// Config.DeviceCodePrompt, and caches the account and refresh token.
func (s *Source) Login(ctx context.Context) (*oauth2.Token, error) {
	return nil, errors.New("not implemented")
}

// Logout forgets every cached token of this profile.
func (s *Source) Logout(ctx context.Context) error { return errors.New("not implemented") }

// ErrLoginRequired means a device-code profile has no usable sign-in:
// run `m365send login`.
var ErrLoginRequired = errors.New("sign-in required: run `m365send login`")

// Error is a failure reported by Entra ID or on the way to it.
type Error struct {
	// OAuthError is the OAuth error field, such as invalid_client.
	OAuthError string
	// Code is the AADSTS number (7000215 for AADSTS7000215), or 0.
	Code int
	// Description is Entra ID's error_description (never holds secrets).
	Description string
	// Hint is one line saying what to do, or "".
	Hint string
	// Temporary is true for failures worth retrying later (5xx, 429,
	// network errors).
	Temporary bool
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string { return "not implemented" }
func (e *Error) Unwrap() error { return e.Err }

// Claims are the claims of an access token that matter for SMTP, decoded
// without verifying the signature (for diagnostics only).
type Claims struct {
	Audience  string
	Issuer    string
	TenantID  string
	ObjectID  string
	UPN       string
	Roles     []string
	Scopes    []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// ParseClaims decodes an access token's payload without verifying it.
func ParseClaims(accessToken string) (Claims, error) { return Claims{}, errors.New("not implemented") }
