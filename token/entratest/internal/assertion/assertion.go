// Package assertion checks the client assertions the fake Entra ID
// (token/entratest) is given in place of a secret: a JWT signed with the
// app's certificate, or a federated (workload identity) token.
package assertion

import (
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is SHA-1 by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Client is the app registration an assertion is checked against.
type Client struct {
	ClientID string
	// Certificate is the app's registered certificate, or nil.
	Certificate *x509.Certificate
	// FederatedIssuer and FederatedSubject are its federated credential
	// ("": none).
	FederatedIssuer, FederatedSubject string
}

// Check validates a client assertion (certificate or federated) as Entra
// ID does and returns 0 or the AADSTS code to refuse it with: a federated
// one must be signed by federationKey for federatedAudience, a
// certificate one by app's certificate, named by thumbprint, for a token
// endpoint of the tenant (isTokenEndpoint).
func Check(app Client, assertion string, federationKey *rsa.PublicKey, federatedAudience string, isTokenEndpoint func(aud string) bool) int {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithExpirationRequired())
	var claims jwt.MapClaims
	// A federated assertion is recognised by its issuer, before any key is
	// chosen.
	unverified, _, err := parser.ParseUnverified(assertion, jwt.MapClaims{})
	if err != nil {
		return 700027
	}
	iss, _ := unverified.Claims.GetIssuer()
	if app.FederatedIssuer != "" && iss != app.ClientID {
		if iss != app.FederatedIssuer {
			return 700211
		}
		tok, err := parser.ParseWithClaims(assertion, jwt.MapClaims{}, func(*jwt.Token) (any, error) {
			return federationKey, nil
		})
		if err != nil {
			if errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) {
				return 700024
			}
			return 700027
		}
		claims = tok.Claims.(jwt.MapClaims)
		if sub, _ := claims.GetSubject(); sub != app.FederatedSubject {
			return 700213
		}
		if aud, _ := claims.GetAudience(); !slices.Contains(aud, federatedAudience) {
			return 700212
		}
		return 0
	}
	if app.Certificate == nil || !thumbprintMatches(unverified.Header, app.Certificate) {
		return 700027
	}
	pub := app.Certificate.PublicKey.(*rsa.PublicKey)
	tok, err := parser.ParseWithClaims(assertion, jwt.MapClaims{}, func(*jwt.Token) (any, error) {
		return pub, nil
	})
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) {
			return 700024
		}
		return 700027
	}
	claims = tok.Claims.(jwt.MapClaims)
	sub, _ := claims.GetSubject()
	if !strings.EqualFold(iss, app.ClientID) || !strings.EqualFold(sub, app.ClientID) {
		return 700027
	}
	aud, _ := claims.GetAudience()
	if len(aud) != 1 || !isTokenEndpoint(aud[0]) {
		return 700027
	}
	return 0
}

// thumbprintMatches reports whether an assertion's header names cert: Entra
// ID needs x5t (SHA-1) or x5t#S256 (SHA-256) of the certificate's DER
// bytes, base64 (MSAL sends the standard alphabet, RFC 7515 says base64url;
// both are taken), and every thumbprint present must match.
func thumbprintMatches(header map[string]any, cert *x509.Certificate) bool {
	sha1Sum := sha1.Sum(cert.Raw) // #nosec G401 -- x5t is SHA-1 by definition
	sha256Sum := sha256.Sum256(cert.Raw)
	found := false
	for key, sum := range map[string][]byte{"x5t": sha1Sum[:], "x5t#S256": sha256Sum[:]} {
		v, present := header[key]
		if !present {
			continue
		}
		s, _ := v.(string)
		if s == "" || (s != base64.StdEncoding.EncodeToString(sum) && s != base64.RawURLEncoding.EncodeToString(sum)) {
			return false
		}
		found = true
	}
	return found
}
