// Package mint makes and reads the tokens the fake Entra ID
// (token/entratest) issues: RS256 JWTs shaped like Entra ID's app-only
// and delegated access tokens and ID tokens, the JWKS that publishes
// their key, and the check a resource (Exchange Online, Microsoft Graph)
// makes of an access token before it reads its claims.
package mint

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// Signer signs an authority's tokens with its own RSA key.
type Signer struct {
	key      *rsa.PrivateKey
	kid      string
	lifetime time.Duration
}

// New makes a Signer with a fresh key whose access tokens live lifetime.
func New(lifetime time.Duration) (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return &Signer{key: key, kid: "entratest-" + ids.Random(8), lifetime: lifetime}, nil
}

// PublicKey is the key tokens are signed with.
func (s *Signer) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// JWKS publishes the signing key as the keys endpoint does.
func (s *Signer) JWKS() map[string]any {
	pub := s.key.PublicKey
	return map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"kid": s.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}

// App is what an app-only (client credentials) access token says.
type App struct {
	Resource, TenantID, ClientID string
	// ObjectID is the service principal's, the token's oid and sub.
	ObjectID string
	// ACR is appidacr: "1" for a secret, "2" for an assertion.
	ACR string
	// Audience, if set, replaces the resource as aud.
	Audience string
	// Roles are the application permissions (none: no roles claim).
	Roles []string
}

// AppToken signs an app-only access token issued at now.
func (s *Signer) AppToken(now time.Time, app App) (string, error) {
	claims := s.base(now, app.Resource, app.TenantID, app.ClientID)
	claims["oid"] = app.ObjectID
	claims["sub"] = app.ObjectID
	claims["appidacr"] = app.ACR
	claims["idtyp"] = "app"
	if app.Audience != "" {
		claims["aud"] = app.Audience
	}
	if len(app.Roles) > 0 {
		claims["roles"] = slices.Clone(app.Roles)
	}
	return s.sign(claims)
}

// User is what a delegated access token and its ID token say.
type User struct {
	Resource, TenantID, ClientID string
	// ObjectID and UPN are the signed-in user's.
	ObjectID, UPN string
	// Scp is the scp claim (the delegated permissions).
	Scp string
	// IDIssuer is the ID token's iss (the tenant's v2.0 issuer).
	IDIssuer string
}

// UserTokens signs a delegated access token and an ID token issued at now.
func (s *Signer) UserTokens(now time.Time, u User) (access, id string, err error) {
	claims := s.base(now, u.Resource, u.TenantID, u.ClientID)
	claims["oid"] = u.ObjectID
	claims["sub"] = ids.Derived("sub:" + u.ObjectID + u.ClientID)
	claims["upn"] = u.UPN
	claims["unique_name"] = u.UPN
	claims["name"] = u.UPN
	claims["scp"] = u.Scp
	claims["appidacr"] = "0"
	claims["amr"] = []string{"pwd", "mfa"}
	claims["idtyp"] = "user"
	access, err = s.sign(claims)
	if err != nil {
		return "", "", err
	}
	id, err = s.sign(jwt.MapClaims{
		"aud":                u.ClientID,
		"iss":                u.IDIssuer,
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"name":               u.UPN,
		"oid":                u.ObjectID,
		"preferred_username": u.UPN,
		"sub":                ids.Derived("idsub:" + u.ObjectID + u.ClientID),
		"tid":                u.TenantID,
		"ver":                "2.0",
	})
	if err != nil {
		return "", "", err
	}
	return access, id, nil
}

// base holds the claims every access token carries.
func (s *Signer) base(now time.Time, resource, tid, clientID string) jwt.MapClaims {
	return jwt.MapClaims{
		"aud":   strings.TrimRight(resource, "/"),
		"iss":   Issuer(tid),
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(s.lifetime).Unix(),
		"tid":   tid,
		"appid": clientID,
		"azp":   clientID,
		"ver":   "1.0",
		"uti":   ids.Random(22),
	}
}

// Issuer is the iss of the v1 access tokens of tenant tid.
func Issuer(tid string) string { return "https://sts.windows.net/" + tid + "/" }

func (s *Signer) sign(claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = s.kid
	str, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("entratest: sign token: %w", err)
	}
	return str, nil
}

// Claims are what a resource reads from an access token it has checked.
type Claims struct {
	Audience []string
	// Delegated is set when the token has an scp claim (a user's token).
	Delegated bool
	// Scp is the delegated permissions; UPN the signed-in user.
	Scp, UPN string
	// Roles are an app-only token's application permissions.
	Roles []string
	// AppID is the client the token was issued to.
	AppID string
}

// Check verifies an access token's RS256 signature (this Signer's key),
// its issuer (tenant tid) and its expiry, as Exchange Online and Microsoft
// Graph both do, and returns its claims.
func (s *Signer) Check(accessToken, tid string) (Claims, error) {
	tok, err := jwt.Parse(accessToken, func(t *jwt.Token) (any, error) {
		return &s.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(Issuer(tid)))
	if err != nil {
		return Claims{}, err
	}
	m := tok.Claims.(jwt.MapClaims)
	var c Claims
	c.Audience, _ = m.GetAudience()
	c.Scp, c.Delegated = m["scp"].(string)
	c.UPN, _ = m["upn"].(string)
	c.Roles = stringList(m["roles"])
	c.AppID, _ = m["appid"].(string)
	return c, nil
}

func stringList(v any) []string {
	switch v := v.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// Federated signs with key a workload-identity assertion (like the token
// Kubernetes projects into AZURE_FEDERATED_TOKEN_FILE) for issuer and
// subject, to audience, valid for an hour from now.
func Federated(key *rsa.PrivateKey, now time.Time, issuer, subject, audience string) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": issuer,
		"sub": subject,
		"aud": []string{audience},
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": ids.New(),
	})
	tok.Header["kid"] = "federation"
	s, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("entratest: sign federated assertion: %w", err)
	}
	return s, nil
}
