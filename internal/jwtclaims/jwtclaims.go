// Package jwtclaims decodes the claims of an access token that matter for
// SMTP and Graph (audience, tenant, roles, scopes, ...) without verifying
// its signature, for diagnostics only. Package token exports it as
// token.Claims and token.ParseClaims.
package jwtclaims

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
	// Audience is the resource the token is for (aud; the first one if
	// there are several), such as https://outlook.office365.com.
	Audience string
	// Issuer is the token's issuer (iss).
	Issuer string
	// TenantID is the tenant that issued the token (tid).
	TenantID string
	// ObjectID is the object ID of the user or service principal (oid).
	ObjectID string
	// UPN is the signed-in person's name (upn, else preferred_username);
	// "" for app-only tokens.
	UPN string
	// Roles are the application permissions (roles), such as
	// SMTP.SendAsApp.
	Roles []string
	// Scopes are the delegated permissions (scp), such as SMTP.Send.
	Scopes []string
	// IssuedAt is when the token was issued (iat), or zero.
	IssuedAt time.Time
	// ExpiresAt is when the token expires (exp), or zero.
	ExpiresAt time.Time
	// AppID is the client ID the token was issued to (appid or azp).
	AppID string
}

// Parse decodes an access token's payload without verifying it.
func Parse(accessToken string) (Claims, error) {
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
