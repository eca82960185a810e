package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
	// AppID is the client ID the token was issued to (appid or azp).
	AppID string
}

// ParseClaims decodes an access token's payload without verifying it.
func ParseClaims(accessToken string) (Claims, error) {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("token: access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("token: access token payload: %w", err)
	}
	var raw struct {
		Aud   json.RawMessage `json:"aud"`
		Iss   string          `json:"iss"`
		Tid   string          `json:"tid"`
		Oid   string          `json:"oid"`
		UPN   string          `json:"upn"`
		Pref  string          `json:"preferred_username"`
		Roles []string        `json:"roles"`
		Scp   string          `json:"scp"`
		Iat   json.Number     `json:"iat"`
		Exp   json.Number     `json:"exp"`
		AppID string          `json:"appid"`
		Azp   string          `json:"azp"`
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return Claims{}, fmt.Errorf("token: access token payload: %w", err)
	}
	c := Claims{
		Issuer:   raw.Iss,
		TenantID: raw.Tid,
		ObjectID: raw.Oid,
		UPN:      raw.UPN,
		Roles:    raw.Roles,
		Scopes:   strings.Fields(raw.Scp),
		AppID:    raw.AppID,
	}
	if c.UPN == "" {
		c.UPN = raw.Pref
	}
	if c.AppID == "" {
		c.AppID = raw.Azp
	}
	if len(raw.Aud) > 0 {
		var one string
		var many []string
		if json.Unmarshal(raw.Aud, &one) == nil {
			c.Audience = one
		} else if json.Unmarshal(raw.Aud, &many) == nil && len(many) > 0 {
			c.Audience = many[0]
		}
	}
	c.IssuedAt = unixTime(raw.Iat)
	c.ExpiresAt = unixTime(raw.Exp)
	return c, nil
}

func unixTime(n json.Number) time.Time {
	if n == "" {
		return time.Time{}
	}
	if i, err := n.Int64(); err == nil {
		return time.Unix(i, 0)
	}
	if f, err := n.Float64(); err == nil {
		return time.Unix(int64(f), 0)
	}
	return time.Time{}
}
