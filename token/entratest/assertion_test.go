package entratest

import (
	"crypto/rsa"
	"crypto/sha1" // #nosec G505 -- x5t is SHA-1 by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// Entra ID takes a certificate assertion only if its header names the
// registered certificate (x5t or x5t#S256) and its audience is the
// tenant's token endpoint.
func TestCertificateAssertionChecks(t *testing.T) {
	a := newTestAuthority(t, Options{})
	const clientID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	certPEM, keyPEM, err := NewCertificate("app")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddApp(App{ClientID: clientID, CertificatePEM: certPEM}); err != nil {
		t.Fatal(err)
	}
	otherPEM, _, err := NewCertificate("other")
	if err != nil {
		t.Fatal(err)
	}
	key := parseKey(t, keyPEM)
	cert, other := parseCert(t, certPEM), parseCert(t, otherPEM)
	s256 := func(c *x509.Certificate) string {
		sum := sha256.Sum256(c.Raw)
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	s1 := func(c *x509.Certificate) string {
		sum := sha1.Sum(c.Raw) // #nosec G401
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	v2 := a.URL() + "/" + DefaultTenantDomain + "/oauth2/v2.0/token"
	v1ByID := a.URL() + "/" + DefaultTenantID + "/oauth2/token"

	for _, tc := range []struct {
		name   string
		method jwt.SigningMethod
		header map[string]any
		aud    any
		want   int // 0: a token
	}{
		{"as MSAL signs it (PS256, x5t#S256, v2.0 endpoint)", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(cert)}, v2, 0},
		{"x5t SHA-1 and the v1 endpoint by tenant ID", jwt.SigningMethodRS256, map[string]any{"x5t": s1(cert)}, v1ByID, 0},
		{"no thumbprint", jwt.SigningMethodPS256, map[string]any{}, v2, 700027},
		{"another certificate's x5t#S256", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(other)}, v2, 700027},
		{"another certificate's x5t", jwt.SigningMethodRS256, map[string]any{"x5t": s1(other)}, v2, 700027},
		{"right x5t#S256 but wrong x5t", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(cert), "x5t": s1(other)}, v2, 700027},
		{"audience is another path on the host", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(cert)}, a.URL() + "/" + DefaultTenantDomain + "/oauth2/v2.0/authorize", 700027},
		{"audience is another tenant's endpoint", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(cert)}, a.URL() + "/fabrikam.onmicrosoft.com/oauth2/v2.0/token", 700027},
		{"audience is the host alone", jwt.SigningMethodPS256, map[string]any{"x5t#S256": s256(cert)}, a.URL() + "/", 700027},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Now()
			tok := jwt.NewWithClaims(tc.method, jwt.MapClaims{
				"aud": tc.aud, "iss": clientID, "sub": clientID, "jti": ids.New(),
				"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			})
			tok.Header = map[string]any{"alg": tc.method.Alg(), "typ": "JWT"}
			for k, v := range tc.header {
				tok.Header[k] = v
			}
			assertion, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			status, body := postForm(t, a, "/"+DefaultTenantDomain+"/oauth2/v2.0/token", url.Values{
				"client_id": {clientID}, "grant_type": {GrantClientCredentials}, "scope": {DefaultResource + "/.default"},
				"client_assertion_type": {assertionType}, "client_assertion": {assertion},
			})
			switch {
			case tc.want == 0 && (status != 200 || body["access_token"] == nil):
				t.Fatalf("refused: %d %v", status, body)
			case tc.want != 0 && errorCode(body) != float64(tc.want):
				t.Fatalf("got %d %v, want AADSTS%d", status, body, tc.want)
			}
		})
	}
}

func parseKey(t *testing.T, keyPEM []byte) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(keyPEM)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := parseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
