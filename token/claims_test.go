package token

import (
	"context"
	"testing"
	"time"

	"github.com/m365send/m365send/token/entratest"
)

func TestParseClaimsOfAppToken(t *testing.T) {
	a := newAuthority(t, entratest.Options{AccessTokenLifetime: time.Hour})
	tok, err := mustNew(t, appConfig(t, a)).TokenContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseClaims(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audience != "https://outlook.office365.com" || c.TenantID != a.TenantID() ||
		c.Issuer != "https://sts.windows.net/"+a.TenantID()+"/" || c.AppID != testClientID ||
		len(c.Roles) != 1 || len(c.Scopes) != 0 || c.ObjectID == "" {
		t.Errorf("claims %+v", c)
	}
	if d := c.ExpiresAt.Sub(c.IssuedAt); d != time.Hour {
		t.Errorf("lifetime %v", d)
	}
	if !c.ExpiresAt.Equal(tok.Expiry.Truncate(time.Second)) && c.ExpiresAt.Sub(tok.Expiry).Abs() > 2*time.Second {
		t.Errorf("exp %v vs token expiry %v", c.ExpiresAt, tok.Expiry)
	}
}
