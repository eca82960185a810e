package token

import "github.com/m365send/m365send/internal/jwtclaims"

// Claims are the claims of an access token that matter for SMTP, decoded
// without verifying the signature (for diagnostics only): Audience,
// Issuer, TenantID, ObjectID, UPN, Roles, Scopes, IssuedAt, ExpiresAt and
// AppID (see internal/jwtclaims).
type Claims = jwtclaims.Claims

// ParseClaims decodes an access token's payload without verifying it.
func ParseClaims(accessToken string) (Claims, error) { return jwtclaims.Parse(accessToken) }
