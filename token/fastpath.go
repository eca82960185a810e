package token

import (
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/internal/certfile"
	"github.com/m365send/m365send/internal/credbind"
	"github.com/m365send/m365send/internal/httpclient"
	"github.com/m365send/m365send/internal/tokencache"
)

// A cache hit needs no MSAL client, no HTTP client and no TLS roots: the
// access token is read straight from the profile's cache file, under the
// file lock, and handed out when it matches the Source's client, tenant and
// scopes, has MinValidity left and (for client credentials) the cache is
// bound to this credential (tokencache.Cached). Anything else falls back
// to MSAL, which decides as before. This keeps `m365send token` with a
// warm cache close to the cost of reading a file (docs/development.md).

// fromCache returns the cached access token that MSAL would hand out, or
// nil when MSAL (and perhaps Entra ID) must be asked. Called with the file
// lock held.
func (s *Source) fromCache() *oauth2.Token {
	if s.store.Path == "" || s.store.Force {
		return nil
	}
	if s.cfg.Flow == FlowClientCredentials {
		id := s.credID
		if id == nil {
			var err error
			if id, err = s.cfg.credentialIdentity(); err != nil {
				return nil // MSAL reports the credential's problem
			}
		}
		if !credbind.Bound(s.store, id) {
			return nil
		}
	}
	data, err := tokencache.ReadPrivate(s.store.Path, tokencache.MaxSize)
	if err != nil {
		return nil
	}
	m := tokencache.Match{ClientID: s.cfg.ClientID, Tenant: s.cfg.Tenant, App: s.cfg.Flow == FlowClientCredentials,
		Scopes: s.scopes, Until: s.store.Now().Add(s.cfg.MinValidity)}
	switch strings.ToLower(s.cfg.Tenant) {
	case "organizations", "common":
		m.AnyRealm = s.cfg.Flow == FlowDeviceCode
	}
	if s.cfg.AuthorityHost != "" {
		if u, err := url.Parse(s.authority); err == nil {
			m.Environment = u.Host
		}
	}
	tok, exp, ok := tokencache.Cached(data, m)
	if !ok {
		return nil
	}
	return bearer(tok, exp)
}

// credentialIdentity is the identity of the client credential (what the
// cache is bound to) without building the MSAL credential: for a
// certificate it reads the file, as credential does.
func (c *Config) credentialIdentity() (*credbind.ID, error) {
	switch {
	case c.ClientSecret != "":
		return credbind.Secret(c.ClientSecret), nil
	case c.CertificateFile != "":
		cert, err := certfile.Load(c.CertificateFile, c.CertificatePassword)
		if err != nil {
			return nil, err
		}
		return credbind.Certificate(cert.Chain, cert.Key), nil
	case c.FederatedTokenFile != "":
		return credbind.FederatedFile(c.FederatedTokenFile), nil
	}
	return nil, errNoCredential
}

// errNoCredential is a client-credentials Config without a credential.
var errNoCredential = errors.New("no client credential: set a client secret, a certificate file or a federated token file")

// NewLazyHTTPClient is NewHTTPClient whose TLS roots come from roots, called
// once, on the first request: a token served from the cache then never
// loads the system's root certificates. An error from roots fails every
// request made with the client.
func NewLazyHTTPClient(roots func() (*x509.CertPool, error)) *http.Client {
	return httpclient.NewLazy(roots, DefaultHTTPTimeout)
}
