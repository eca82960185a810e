package entratest

import (
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/m365send/m365send/token/entratest/internal/assertion"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// reservedScope reports whether s (lower case) is one of the OpenID
// scopes MSAL adds to user flows.
func reservedScope(s string) bool {
	switch s {
	case "openid", "profile", "offline_access", "email":
		return true
	}
	return false
}

type refreshToken struct {
	clientID string
	upn      string
	tenantID string
	scopes   []string
	expires  time.Time
	issued   time.Time
	revoked  bool
	inactive bool
}

// clientOf reads the client_id of a token or device-code request. When it
// is missing, or the test made that client fail (FailClient), it answers
// the request with the OAuth error and returns false.
func (a *Authority) clientOf(w http.ResponseWriter, form url.Values, tenant string) (string, bool) {
	clientID := form.Get("client_id")
	if clientID == "" {
		a.writeOAuthError(w, 900144, "", tenant, "", "client_id")
		return "", false
	}
	if code := a.failureFor(clientID); code != 0 {
		a.writeOAuthError(w, code, clientID, tenant, time.Now().UTC().Format(time.RFC3339))
		return "", false
	}
	return clientID, true
}

// serveToken answers POST /{tenant}/oauth2/v2.0/token.
func (a *Authority) serveToken(w http.ResponseWriter, r *http.Request, tenant, tid string) {
	form := r.PostForm
	clientID, ok := a.clientOf(w, form, tenant)
	if !ok {
		return
	}
	switch form.Get("grant_type") {
	case GrantClientCredentials:
		if isMultiTenant(tenant) {
			a.writeOAuthError(w, 9001023, clientID, tenant)
			return
		}
		a.clientCredentials(w, r, tenant, tid)
	case GrantDeviceCode:
		a.pollDeviceCode(w, r, tenant)
	case GrantRefreshToken:
		a.redeemRefreshToken(w, r, tenant, tid)
	case GrantAuthorizationCode:
		a.redeemAuthCode(w, r, tenant)
	case "":
		a.writeOAuthError(w, 900144, clientID, tenant, "", "grant_type")
	default:
		a.writeOAuthError(w, 70003, clientID, tenant)
	}
}

func (a *Authority) clientCredentials(w http.ResponseWriter, r *http.Request, tenant, tid string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	app := a.app(clientID)
	if app == nil {
		a.writeOAuthError(w, 700016, clientID, tenant)
		return
	}
	acr := "1"
	switch {
	case form.Get("client_secret") != "":
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(app.Secret)) != 1 {
			a.writeOAuthError(w, 7000215, clientID, tenant)
			return
		}
		if app.SecretExpired {
			a.writeOAuthError(w, 7000222, clientID, tenant)
			return
		}
	case form.Get("client_assertion") != "":
		if form.Get("client_assertion_type") != assertionType {
			a.writeOAuthError(w, 900144, clientID, tenant, "", "client_assertion_type")
			return
		}
		client := assertion.Client{ClientID: app.ClientID, Certificate: app.Certificate,
			FederatedIssuer: app.FederatedIssuer, FederatedSubject: app.FederatedSubject}
		isTokenEndpoint := func(aud string) bool { return a.isTokenEndpoint(aud, tenant) }
		if code := assertion.Check(client, form.Get("client_assertion"), &a.fedKey.PublicKey, FederatedAudience, isTokenEndpoint); code != 0 {
			a.writeOAuthError(w, code, clientID, tenant)
			return
		}
		acr = "2"
	default:
		a.writeOAuthError(w, 7000218, clientID, tenant)
		return
	}
	resource, code := a.appScope(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	now := time.Now()
	claims := a.baseClaims(now, resource, tid, clientID)
	claims["oid"] = app.ObjectID
	claims["sub"] = app.ObjectID
	claims["appidacr"] = acr
	claims["idtyp"] = "app"
	if app.Audience != "" {
		claims["aud"] = app.Audience
	}
	roles := app.Roles
	if isGraphResource(resource) {
		roles = app.GraphRoles
		if roles == nil {
			roles = []string{GraphSendRole}
		}
	}
	if len(roles) > 0 {
		claims["roles"] = slices.Clone(roles)
	}
	at, err := a.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.recordIssued(at)
	secs := int(a.opts.AccessTokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   at,
	})
}

// isTokenEndpoint reports whether aud is this tenant's token endpoint, as
// Entra ID requires of a certificate assertion: the v2.0 or the v1 form,
// under the tenant's domain or ID (or the path the request used).
func (a *Authority) isTokenEndpoint(aud, tenant string) bool {
	tid, _ := a.resolveTenant(tenant)
	if tid == "" {
		tid = a.opts.TenantID
	}
	names := []string{tenant, tid}
	if strings.EqualFold(tid, a.opts.TenantID) {
		names = append(names, a.opts.TenantDomain)
	}
	for _, t := range names {
		for _, path := range []string{"/oauth2/v2.0/token", "/oauth2/token"} {
			if strings.EqualFold(aud, a.URL()+"/"+t+path) {
				return true
			}
		}
	}
	return false
}

// appScope checks a client-credentials scope and returns the resource.
func (a *Authority) appScope(scope string) (string, int) {
	scopes := strings.Fields(scope)
	if len(scopes) == 0 {
		return "", 70011
	}
	var resource string
	for _, s := range scopes {
		// MSAL appends the OpenID scopes to every request; Entra ID
		// ignores them for client credentials.
		if reservedScope(strings.ToLower(s)) {
			continue
		}
		if !strings.HasSuffix(s, "/.default") {
			return "", 1002012
		}
		res := strings.TrimSuffix(s, "/.default")
		if resource != "" && !strings.EqualFold(res, resource) {
			return "", 700022
		}
		resource = res
	}
	if resource == "" || !a.acceptsResource(resource) && !isGraphResource(resource) {
		return "", 70011
	}
	return resource, 0
}

// delegatedScope checks a user-flow scope list; it returns the resource and
// the granted scopes to echo.
func (a *Authority) delegatedScope(scope string) (string, []string, int) {
	scopes := strings.Fields(scope)
	var resource string
	for _, s := range scopes {
		if reservedScope(strings.ToLower(s)) {
			continue
		}
		i := strings.LastIndex(s, "/")
		if i < 0 {
			return "", nil, 70011
		}
		res, perm := s[:i], s[i+1:]
		if resource != "" && !strings.EqualFold(res, resource) {
			return "", nil, 700022
		}
		resource = res
		if !delegatedPermission(res, perm) {
			return "", nil, 70011
		}
	}
	if resource == "" || !a.acceptsResource(resource) && !isGraphResource(resource) {
		return "", nil, 70011
	}
	return resource, scopes, 0
}

// acceptsResource reports whether res names the Exchange resource. For the
// global cloud Entra ID knows Exchange Online by both of its identifier URIs.
func (a *Authority) acceptsResource(res string) bool {
	res = strings.TrimRight(res, "/")
	if strings.EqualFold(res, a.opts.Resource) {
		return true
	}
	return strings.EqualFold(a.opts.Resource, DefaultResource) && strings.EqualFold(res, "https://outlook.office.com")
}

func (a *Authority) baseClaims(now time.Time, resource, tid, clientID string) jwt.MapClaims {
	return jwt.MapClaims{
		"aud":   strings.TrimRight(resource, "/"),
		"iss":   "https://sts.windows.net/" + tid + "/",
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(a.opts.AccessTokenLifetime).Unix(),
		"tid":   tid,
		"appid": clientID,
		"azp":   clientID,
		"ver":   "1.0",
		"uti":   randomString(22),
	}
}

func (a *Authority) sign(claims jwt.MapClaims) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = a.kid
	s, err := tok.SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("entratest: sign token: %w", err)
	}
	return s, nil
}

// issueUserTokens answers a successful delegated grant: access token,
// rotated refresh token, id_token and client_info.
func (a *Authority) issueUserTokens(w http.ResponseWriter, clientID, tenantID, upn, resource string, scopes []string) {
	now := time.Now()
	a.mu.Lock()
	user, ok := a.users[strings.ToLower(upn)]
	if !ok {
		user = a.addUserLocked(User{UPN: upn})
	}
	rt := randomString(64)
	a.refreshTokens[rt] = &refreshToken{
		clientID: clientID, upn: user.UPN, tenantID: tenantID, scopes: scopes,
		issued: now, expires: now.Add(a.opts.RefreshTokenLifetime),
	}
	a.mu.Unlock()

	claims := a.baseClaims(now, resource, tenantID, clientID)
	claims["oid"] = user.ObjectID
	claims["sub"] = derivedGUID("sub:" + user.ObjectID + clientID)
	claims["upn"] = user.UPN
	claims["unique_name"] = user.UPN
	claims["name"] = user.UPN
	claims["scp"] = DelegatedScope
	if isGraphResource(resource) {
		claims["scp"] = graphScp(scopes)
	}
	claims["appidacr"] = "0"
	claims["amr"] = []string{"pwd", "mfa"}
	claims["idtyp"] = "user"
	at, err := a.sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	idt, err := a.sign(jwt.MapClaims{
		"aud":                clientID,
		"iss":                a.URL() + "/" + tenantID + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"name":               user.UPN,
		"oid":                user.ObjectID,
		"preferred_username": user.UPN,
		"sub":                derivedGUID("idsub:" + user.ObjectID + clientID),
		"tid":                tenantID,
		"ver":                "2.0",
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.recordIssued(at, rt, idt)
	ci, _ := json.Marshal(map[string]string{"uid": user.ObjectID, "utid": tenantID})
	secs := int(a.opts.AccessTokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"scope":          strings.Join(scopes, " "),
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   at,
		"refresh_token":  rt,
		"id_token":       idt,
		"client_info":    base64.RawURLEncoding.EncodeToString(ci),
	})
}

// redeemRefreshToken answers a refresh_token grant. A refresh token is
// redeemed only in the tenant it was issued in (or through /organizations
// or /common, which resolve to the user's home tenant).
func (a *Authority) redeemRefreshToken(w http.ResponseWriter, r *http.Request, tenant, tid string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	if !a.isPublic(clientID) && a.app(clientID) == nil {
		a.writeOAuthError(w, 700016, clientID, tenant)
		return
	}
	resource, scopes, code := a.delegatedScope(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	presented := form.Get("refresh_token")
	a.mu.Lock()
	rt, ok := a.refreshTokens[presented]
	if ok && (!strings.EqualFold(rt.clientID, clientID) || tid != "" && !strings.EqualFold(rt.tenantID, tid)) {
		ok = false
	}
	var fail int
	switch {
	case !ok:
		fail = 9002313
	case rt.revoked:
		fail = 50173
	case rt.inactive || time.Now().After(rt.expires):
		fail = 700082
	}
	if ok && fail == 0 {
		// Refresh tokens rotate: the presented one is spent.
		delete(a.refreshTokens, presented)
	}
	a.mu.Unlock()
	if fail != 0 {
		issued := ""
		if ok {
			issued = rt.issued.UTC().Format(time.RFC3339)
		}
		a.writeOAuthError(w, fail, clientID, tenant, issued)
		return
	}
	a.issueUserTokens(w, clientID, rt.tenantID, rt.upn, resource, scopes)
}

// recordIssued remembers tokens handed out, for IssuedTokens.
func (a *Authority) recordIssued(tokens ...string) {
	a.mu.Lock()
	a.issued = append(a.issued, tokens...)
	a.mu.Unlock()
}

// IssuedTokens returns every token the authority has handed out, in order:
// access tokens, refresh tokens (spent ones included) and ID tokens. Tests
// look for them in output and logs, where none may appear.
func (a *Authority) IssuedTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.issued)
}

// LiveRefreshTokens returns the refresh tokens of upn that can still be
// redeemed (issued, not yet spent by rotation, not revoked or expired).
func (a *Authority) LiveRefreshTokens(upn string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	now := time.Now()
	for secret, rt := range a.refreshTokens {
		if strings.EqualFold(rt.upn, upn) && !rt.revoked && !rt.inactive && now.Before(rt.expires) {
			out = append(out, secret)
		}
	}
	slices.Sort(out)
	return out
}

// RevokeRefreshTokens revokes every refresh token of upn, as a password
// reset or "revoke sessions" does: redeeming one answers AADSTS50173.
func (a *Authority) RevokeRefreshTokens(upn string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rt := range a.refreshTokens {
		if strings.EqualFold(rt.upn, upn) {
			rt.revoked = true
		}
	}
}

// ExpireRefreshTokens marks every refresh token of upn as expired by
// inactivity: redeeming one answers AADSTS700082.
func (a *Authority) ExpireRefreshTokens(upn string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rt := range a.refreshTokens {
		if strings.EqualFold(rt.upn, upn) {
			rt.inactive = true
		}
	}
}

// ErrTokenRefused is wrapped by every error Verify returns.
var ErrTokenRefused = errors.New("access token refused")

// Verify checks an access token the way Exchange Online does before it
// lets user send: the authority's RS256 signature, issuer, expiry, audience
// (the Exchange resource), and either the SMTP.SendAsApp role (app-only; the
// mailbox must be one the app may use) or the SMTP.Send scope (delegated;
// user must be the signed-in user or one of their mailboxes). Its errors
// wrap ErrTokenRefused and never contain the token.
func (a *Authority) Verify(accessToken, user string) error {
	claims, err := a.claims(accessToken)
	if err != nil {
		return err
	}
	aud, _ := claims.GetAudience()
	if len(aud) != 1 || !a.acceptsResource(aud[0]) {
		return fmt.Errorf("%w: audience %q is not the Exchange resource %s", ErrTokenRefused, aud, a.opts.Resource)
	}
	if scp, ok := claims["scp"].(string); ok {
		if !slices.Contains(strings.Fields(scp), DelegatedScope) {
			return fmt.Errorf("%w: scope %q lacks %s", ErrTokenRefused, scp, DelegatedScope)
		}
		upn, _ := claims["upn"].(string)
		if a.userMaySendAs(upn, user) {
			return nil
		}
		return fmt.Errorf("%w: user %s may not send as %s", ErrTokenRefused, upn, user)
	}
	roles := stringList(claims["roles"])
	if !slices.Contains(roles, DefaultRole) {
		return fmt.Errorf("%w: token has no %s role", ErrTokenRefused, DefaultRole)
	}
	appid, _ := claims["appid"].(string)
	app := a.app(appid)
	if app == nil {
		return fmt.Errorf("%w: no service principal for app %s", ErrTokenRefused, appid)
	}
	if !containsFold(app.Mailboxes, user) {
		return fmt.Errorf("%w: app %s has no permission on mailbox %s (Add-MailboxPermission)", ErrTokenRefused, appid, user)
	}
	return nil
}

// claims checks an access token's RS256 signature (this authority's key),
// issuer and expiry, as Exchange Online and Microsoft Graph both do, and
// returns its claims; its errors wrap ErrTokenRefused.
func (a *Authority) claims(accessToken string) (jwt.MapClaims, error) {
	tok, err := jwt.Parse(accessToken, func(t *jwt.Token) (any, error) {
		return &a.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer("https://sts.windows.net/"+a.opts.TenantID+"/"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenRefused, err)
	}
	return tok.Claims.(jwt.MapClaims), nil
}

// userMaySendAs reports whether the signed-in user upn (a delegated
// token's) may send as mailbox: their own, or one of theirs.
func (a *Authority) userMaySendAs(upn, mailbox string) bool {
	if strings.EqualFold(upn, mailbox) {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users[strings.ToLower(upn)]
	return u != nil && containsFold(u.Mailboxes, mailbox)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
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

// serveKeys publishes the signing key as a JWKS.
func (a *Authority) serveKeys(w http.ResponseWriter) {
	pub := a.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"kid": a.kid,
		"n":   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// PublicKey is the key access tokens are signed with.
func (a *Authority) PublicKey() *rsa.PublicKey { return &a.key.PublicKey }
