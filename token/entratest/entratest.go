// Package entratest is an in-process fake Microsoft Entra ID authority for
// tests and the sandbox, served over HTTPS on loopback in the spirit of
// net/http/httptest (but without it, nor package testing, so that a program
// such as `m365send sandbox` can ship it).
//
// It answers what MSAL Go really asks for (OpenID metadata per tenant, the
// v2.0 token, device-code and authorize endpoints), checks what Entra ID
// checks (client secrets, certificate and federated client assertions,
// scopes, tenant, device-code state, loopback redirect URIs, PKCE code
// verifiers, refresh tokens) and answers wrong input with the OAuth
// error JSON Entra ID sends, AADSTS code included. Access tokens are RS256
// JWTs shaped like Entra's; Verify checks them the way Exchange Online would,
// so a fake SMTP server can accept or refuse them.
//
// Tests drive it through methods: approve or decline device codes, revoke or
// expire refresh tokens, inject faults (HTTP status, Retry-After, delays,
// dropped connections) and count what it was asked.
//
// It is not a security boundary and must never face a real network.
package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/testca"
	"github.com/m365send/m365send/token/entratest/internal/authcode"
	"github.com/m365send/m365send/token/entratest/internal/devicecode"
	"github.com/m365send/m365send/token/entratest/internal/discovery"
	"github.com/m365send/m365send/token/entratest/internal/fault"
	"github.com/m365send/m365send/token/entratest/internal/mint"
	"github.com/m365send/m365send/token/entratest/internal/refresh"
	"github.com/m365send/m365send/token/entratest/internal/scope"
)

// Default values used when the matching Options field is empty.
const (
	DefaultTenantDomain = "contoso.onmicrosoft.com"
	DefaultTenantID     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	DefaultResource     = "https://outlook.office365.com"
	DefaultLifetime     = 75 * time.Minute
	// DefaultRole is the application permission SMTP needs.
	DefaultRole = "SMTP.SendAsApp"
	// DelegatedScope is the delegated permission SMTP needs.
	DelegatedScope = "SMTP.Send"
	// FederatedAudience is the audience a federated (workload identity)
	// assertion must carry.
	FederatedAudience = "api://AzureADTokenExchange"
)

// Endpoint names, for Requests and Fault.Endpoint.
const (
	EndpointOpenIDConfiguration = "openid-configuration"
	EndpointToken               = "token"
	EndpointDeviceCode          = "devicecode"
	EndpointKeys                = "keys"
	EndpointDeviceLogin         = "devicelogin"
)

// Grant types, as sent in the grant_type form field.
const (
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// Options configures an Authority. Every zero value is a working default.
type Options struct {
	// Certificate, if set, is the certificate the server presents: valid
	// for 127.0.0.1, with a chain that ends with the certificate of the CA
	// that signed it (the one clients must trust). Give two fakes the same
	// certificate to have clients trust one CA for both. nil: a fresh
	// throwaway CA signs a loopback certificate.
	Certificate *tls.Certificate
	// TenantDomain is the tenant's domain (default contoso.onmicrosoft.com).
	TenantDomain string
	// TenantID is the tenant's GUID (default DefaultTenantID).
	TenantID string
	// Resource is the Exchange Online resource tokens are issued for
	// (default https://outlook.office365.com).
	Resource string
	// AccessTokenLifetime is the lifetime of issued access tokens
	// (default 75 minutes).
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime is the lifetime of refresh tokens (default 90
	// days).
	RefreshTokenLifetime time.Duration
	// DeviceCodeLifetime is how long a device code can be redeemed
	// (default 15 minutes).
	DeviceCodeLifetime time.Duration
	// PendingPolls is how many polls of each device code are answered
	// authorization_pending before an approval takes effect (default 0:
	// the first poll after approval succeeds).
	PendingPolls int
	// SlowDownPolls is how many polls of each device code are answered
	// slow_down before anything else.
	SlowDownPolls int
	// AutoApprove, if set, approves every device code for this UPN after
	// its first poll (which is answered authorization_pending), and signs
	// this UPN in at once on every authorize request (browser sign-in);
	// with none, authorize requests are answered access_denied.
	AutoApprove string
	// Logger receives one line per request (nil: discard). It never logs
	// secrets, assertions or tokens.
	Logger *slog.Logger
}

// Authority is a running fake Entra ID. It is safe for concurrent use.
type Authority struct {
	opts   Options
	ca     *testca.CA
	srv    *http.Server
	url    string
	served sync.WaitGroup // running handlers, waited for by Close
	signer *mint.Signer
	fedKey *rsa.PrivateKey
	log    *slog.Logger
	scopes scope.Rules

	deviceCodes   devicecode.Store
	refreshTokens refresh.Store
	authCodes     authcode.Store
	faults        fault.Queue

	mu            sync.Mutex
	apps          map[string]*App // by lower-case client ID
	public        map[string]bool
	users         map[string]*User  // by lower-case UPN
	tenants       map[string]string // further tenants: lower-case domain or ID → ID
	issued        []string          // every access, refresh and ID token handed out
	failClients   map[string]int
	counts        map[countKey]int
	onDeviceCode  []func(userCode string)
	lastAuthorize *AuthorizeRequest
	closed        bool
}

type countKey struct{ endpoint, grant, client string }

// New starts an Authority on 127.0.0.1 with an ephemeral port.
func New(opts Options) (*Authority, error) {
	if opts.TenantDomain == "" {
		opts.TenantDomain = DefaultTenantDomain
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.Resource == "" {
		opts.Resource = DefaultResource
	}
	opts.Resource = strings.TrimRight(opts.Resource, "/")
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = DefaultLifetime
	}
	if opts.RefreshTokenLifetime <= 0 {
		opts.RefreshTokenLifetime = 90 * 24 * time.Hour
	}
	if opts.DeviceCodeLifetime <= 0 {
		opts.DeviceCodeLifetime = 15 * time.Minute
	}
	ca, err := testca.NewOrFrom(opts.Certificate)
	if err != nil {
		return nil, fmt.Errorf("entratest: %w", err)
	}
	signer, err := mint.New(opts.AccessTokenLifetime)
	if err != nil {
		return nil, fmt.Errorf("entratest: %w", err)
	}
	fedKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("entratest: federation key: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Authority{
		opts:        opts,
		ca:          ca,
		signer:      signer,
		fedKey:      fedKey,
		log:         log,
		scopes:      scope.Rules{Exchange: opts.Resource},
		apps:        map[string]*App{},
		public:      map[string]bool{},
		users:       map[string]*User{},
		tenants:     map[string]string{},
		failClients: map[string]int{},
		counts:      map[countKey]int{},
	}
	a.deviceCodes.SlowDownPolls = opts.SlowDownPolls
	a.deviceCodes.PendingPolls = opts.PendingPolls
	a.deviceCodes.AutoApprove = opts.AutoApprove
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("entratest: listen: %w", err)
	}
	tlsConf := ca.ServerTLSConfig()
	// HTTP/1.1 only, as net/http/httptest serves by default.
	tlsConf.NextProtos = []string{"http/1.1"}
	a.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			if a.closed {
				a.mu.Unlock()
				http.Error(w, "entratest: closed", http.StatusServiceUnavailable)
				return
			}
			a.served.Add(1) // under mu, before Close's Wait
			a.mu.Unlock()
			defer a.served.Done()
			a.serveHTTP(w, r)
		}),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ReadHeaderTimeout: time.Minute,
	}
	a.url = "https://" + ln.Addr().String()
	tl := tls.NewListener(ln, tlsConf)
	go func() {
		if err := a.srv.Serve(tl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Debug("entratest: serve", "err", err)
		}
	}()
	return a, nil
}

// Close stops the server, closes its connections and waits for the
// requests being answered to end.
func (a *Authority) Close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	_ = a.srv.Close()
	a.served.Wait()
}

// URL is the authority's base URL, "https://127.0.0.1:PORT"; use it as
// token.Config.AuthorityHost.
func (a *Authority) URL() string { return a.url }

// CACertPEM is the PEM certificate of the CA that signed the server
// certificate, for a profile's ca_file.
func (a *Authority) CACertPEM() []byte { return append([]byte(nil), a.ca.CertPEM...) }

// RootCAs is a pool holding only that CA, for a client's RootCAs.
func (a *Authority) RootCAs() *x509.CertPool { return a.ca.Pool.Clone() }

// ServerCertificate is the certificate (with its key and its chain, which
// ends with the CA's certificate) the server presents: give it to another
// fake, such as smtptest.Options.Certificate, to have clients trust one CA
// for both.
func (a *Authority) ServerCertificate() tls.Certificate { return a.ca.ServerCert }

// TenantID is the tenant's GUID.
func (a *Authority) TenantID() string { return a.opts.TenantID }

// TenantDomain is the tenant's domain name.
func (a *Authority) TenantDomain() string { return a.opts.TenantDomain }

// Resource is the Exchange resource tokens are issued for.
func (a *Authority) Resource() string { return a.opts.Resource }

// HTTPClient returns a client that trusts the authority's CA (and nothing
// else).
func (a *Authority) HTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   a.ca.ClientTLSConfig(),
			ForceAttemptHTTP2: true,
		},
		Timeout: time.Minute,
	}
}

// Requests counts the requests received on endpoint (EndpointToken,
// EndpointDeviceCode, EndpointOpenIDConfiguration, ...). grantType filters
// token requests by grant_type ("" counts all; "device_code" is accepted for
// GrantDeviceCode). Requests answered with an injected fault count too.
func (a *Authority) Requests(endpoint, grantType string) int {
	if grantType == "device_code" {
		grantType = GrantDeviceCode
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, v := range a.counts {
		if k.endpoint == endpoint && (grantType == "" || k.grant == grantType) {
			n += v
		}
	}
	return n
}

// RequestsFrom counts the requests received on endpoint whose form named
// client clientID, whatever their grant type.
func (a *Authority) RequestsFrom(endpoint, clientID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for k, v := range a.counts {
		if k.endpoint == endpoint && k.client == clientID {
			n += v
		}
	}
	return n
}

// ResetRequests sets every request counter back to zero.
func (a *Authority) ResetRequests() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.counts)
}

// serveHTTP routes /{tenant}/... requests.
func (a *Authority) serveHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 1 && parts[0] == EndpointDeviceLogin {
		a.count(EndpointDeviceLogin, "", "")
		a.serveDeviceLogin(w, r)
		return
	}
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	var endpoint string
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		endpoint = EndpointOpenIDConfiguration
	case "oauth2/v2.0/token":
		endpoint = EndpointToken
	case "oauth2/v2.0/devicecode":
		endpoint = EndpointDeviceCode
	case "discovery/v2.0/keys":
		endpoint = EndpointKeys
	case "oauth2/v2.0/authorize":
		endpoint = EndpointAuthorize
	default:
		http.NotFound(w, r)
		return
	}
	grant := ""
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		grant = r.PostForm.Get("grant_type")
		if grant == "device_code" {
			// MSAL sends the short form; Entra ID takes both.
			grant = GrantDeviceCode
			r.PostForm.Set("grant_type", grant)
		}
	}
	a.count(endpoint, grant, r.PostForm.Get("client_id"))
	a.log.Debug("entratest request", "method", r.Method, "endpoint", endpoint, "tenant", tenant,
		"grant_type", grant, "client_id", r.PostForm.Get("client_id"))

	if f := a.faults.Take(endpoint); f != nil && f.Apply(w, r, writeJSON) {
		return
	}

	tid, known := a.resolveTenant(tenant)
	switch endpoint {
	case EndpointOpenIDConfiguration:
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !known && !discovery.MultiTenant(tenant) {
			a.writeOAuthError(w, 90002, "", tenant)
			return
		}
		writeJSON(w, http.StatusOK, discovery.Document(a.URL(), tenant, tid))
	case EndpointKeys:
		writeJSON(w, http.StatusOK, a.signer.JWKS())
	case EndpointAuthorize:
		if !known && !discovery.MultiTenant(tenant) {
			authcode.ErrorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenant))
			return
		}
		a.serveAuthorize(w, r, tenant, tid)
	case EndpointToken, EndpointDeviceCode:
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !known && !discovery.MultiTenant(tenant) {
			a.writeOAuthError(w, 90002, "", tenant)
			return
		}
		if endpoint == EndpointToken {
			a.serveToken(w, r, tenant, tid)
		} else {
			a.serveDeviceCode(w, r, tenant, tid)
		}
	}
}

func (a *Authority) count(endpoint, grant, client string) {
	a.mu.Lock()
	a.counts[countKey{endpoint, grant, client}]++
	a.mu.Unlock()
}

// resolveTenant maps a tenant path segment (domain or GUID, any case) to the
// tenant ID.
func (a *Authority) resolveTenant(tenant string) (string, bool) {
	if strings.EqualFold(tenant, a.opts.TenantDomain) || strings.EqualFold(tenant, a.opts.TenantID) {
		return a.opts.TenantID, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tid, ok := a.tenants[strings.ToLower(tenant)]
	return tid, ok
}

// AddTenant makes the authority also serve another tenant, known by domain
// and ID, with the same apps and users. Tokens it issues there carry that
// tenant's ID (so Verify, which plays the main tenant's Exchange, refuses
// them), and refresh tokens issued in one tenant are refused in the other.
func (a *Authority) AddTenant(domain, id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tenants[strings.ToLower(domain)] = id
	a.tenants[strings.ToLower(id)] = id
}

// ClientTLSConfig returns a client TLS configuration trusting the
// authority's CA (and nothing else).
func (a *Authority) ClientTLSConfig() *tls.Config { return a.ca.ClientTLSConfig() }
