package token

import (
	"context"
	"fmt"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/oauth2"
)

// confidentialClient builds the MSAL confidential client on first use (it
// reads the certificate file). Called with s.sem held.
func (s *Source) confidentialClient() (*confidential.Client, error) {
	if s.conf != nil {
		return s.conf, nil
	}
	cred, err := s.cfg.credential()
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
	return s.conf, nil
}

// instanceDiscovery is on only for the clouds' own hosts: a custom
// authority host (tests, private clouds) is used as given.
func (s *Source) instanceDiscovery() bool { return s.cfg.AuthorityHost == "" }

// clientCredentials gets an app-only token (cached or new, as cached
// says). Called with the file lock held.
func (s *Source) clientCredentials(ctx context.Context) (tok *oauth2.Token, cached bool, err error) {
	c, err := s.confidentialClient()
	if err != nil {
		return nil, false, err
	}
	res, err := c.AcquireTokenByCredential(ctx, s.scopes)
	if err != nil {
		return nil, false, wrapErr("token: client credentials", err)
	}
	return bearer(res.AccessToken, res.ExpiresOn),
		res.Metadata.TokenSource == confidential.TokenSourceCache, nil
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
