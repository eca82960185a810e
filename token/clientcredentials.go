package token

import (
	"context"
	"fmt"
	"github.com/m365send/m365send/internal/credbind"
	"os"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"
)

// confidentialClient builds the MSAL confidential client on first use (it
// reads the certificate file). Called with s.sem held.
func (s *Source) confidentialClient() (*confidential.Client, error) {
	if s.conf != nil {
		return s.conf, nil
	}
	cred, id, err := s.cfg.credential()
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	c, err := confidential.New(s.authority, s.cfg.ClientID, cred,
		confidential.WithCache(s.store),
		confidential.WithHTTPClient(s.cfg.HTTPClient),
		confidential.WithInstanceDiscovery(s.instanceDiscovery()),
	)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	s.conf = &c
	s.credID = id
	return s.conf, nil
}

// instanceDiscovery is on only for the clouds' own hosts: a custom
// authority host (tests, private clouds) is used as given.
func (s *Source) instanceDiscovery() bool { return s.cfg.AuthorityHost == "" }

// clientCredentials gets an app-only token (cached or new, as cached
// says). Called with the file lock held.
//
// Cached access tokens are used only if the cache's credential sidecar
// says they were obtained with this Source's credential (internal/credbind);
// otherwise Entra ID is asked, which checks the credential, and a token it
// issues rebinds the cache to it.
func (s *Source) clientCredentials(ctx context.Context) (tok *oauth2.Token, cached bool, err error) {
	c, err := s.confidentialClient()
	if err != nil {
		return nil, false, err
	}
	if !s.store.Force && !credbind.Bound(s.store, s.credID) {
		s.store.Force = true
		if _, serr := os.Stat(s.store.Path); serr == nil {
			s.log.Info("cached access tokens were not obtained with this credential (or it is unknown which); asking Entra ID",
				"credential", s.cfg.credentialKind())
		}
	}
	res, err := c.AcquireTokenByCredential(ctx, s.scopes)
	if err != nil {
		return nil, false, wrapErr("token: client credentials", err)
	}
	cached = res.Metadata.TokenSource == confidential.TokenSourceCache
	if !cached {
		if err := credbind.Bind(s.store, s.credID); err != nil {
			// The token is good; the next process just asks Entra ID again.
			s.log.Warn("could not record which credential the cached token belongs to",
				"path", s.store.BindingPath(), "error", oneLine(err.Error()))
		}
	}
	return bearer(res.AccessToken, res.ExpiresOn), cached, nil
}

// credentialKind names the client credential for logs (never its value).
func (c *Config) credentialKind() string {
	switch {
	case c.ClientSecret != "":
		return "client secret"
	case c.CertificateFile != "":
		return "certificate " + c.CertificateFile
	case c.FederatedTokenFile != "":
		return "federated token file " + c.FederatedTokenFile
	}
	return "none"
}
