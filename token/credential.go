package token

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/m365send/m365send/internal/certfile"
	"github.com/m365send/m365send/internal/credbind"
)

// credential builds the MSAL credential for client credentials. A
// certificate is read once, when the Source first needs it; a federated
// assertion file is read on every acquisition, because the platform
// (Kubernetes, GitHub Actions, ...) rotates it. It also returns the
// credential's identity, which binds cached tokens to it (internal/credbind).
func (c *Config) credential() (confidential.Credential, *credbind.ID, error) {
	switch {
	case c.ClientSecret != "":
		cred, err := confidential.NewCredFromSecret(c.ClientSecret)
		return cred, credbind.Secret(c.ClientSecret), err
	case c.CertificateFile != "":
		cert, err := certfile.Load(c.CertificateFile, c.CertificatePassword)
		if err != nil {
			return confidential.Credential{}, nil, err
		}
		cred, err := confidential.NewCredFromCert(cert.Chain, cert.PrivateKey())
		return cred, credbind.Certificate(cert.Chain, cert.Key), err
	case c.FederatedTokenFile != "":
		path := c.FederatedTokenFile
		id := credbind.FederatedFile(path)
		return confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("read federated token file: %w", err)
			}
			a := strings.TrimSpace(string(b))
			if a == "" {
				return "", fmt.Errorf("federated token file %s is empty", path)
			}
			return a, nil
		}), id, nil
	}
	return confidential.Credential{}, nil, errNoCredential
}
