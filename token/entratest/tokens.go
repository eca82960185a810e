package entratest

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/assertion"
	"github.com/m365send/m365send/token/entratest/internal/discovery"
	"github.com/m365send/m365send/token/entratest/internal/mint"
	"github.com/m365send/m365send/token/entratest/internal/refresh"
	"github.com/m365send/m365send/token/entratest/internal/scope"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

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
		if discovery.MultiTenant(tenant) {
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
	resource, code := a.scopes.App(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	roles := app.Roles
	if scope.IsGraph(resource) {
		roles = app.GraphRoles
		if roles == nil {
			roles = []string{GraphSendRole}
		}
	}
	at, err := a.signer.AppToken(time.Now(), mint.App{Resource: resource, TenantID: tid, ClientID: clientID,
		ObjectID: app.ObjectID, ACR: acr, Audience: app.Audience, Roles: roles})
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

// issueUserTokens answers a successful delegated grant: access token,
// rotated refresh token, id_token and client_info.
func (a *Authority) issueUserTokens(w http.ResponseWriter, clientID, tenantID, upn, resource string, scopes []string) {
	now := time.Now()
	user := a.ensureUser(upn)
	rt := a.refreshTokens.Issue(refresh.Token{
		ClientID: clientID, UPN: user.UPN, TenantID: tenantID, Scopes: scopes,
		Issued: now, Expires: now.Add(a.opts.RefreshTokenLifetime),
	})
	scp := DelegatedScope
	if scope.IsGraph(resource) {
		scp = scope.GraphScp(scopes)
	}
	at, idt, err := a.signer.UserTokens(now, mint.User{Resource: resource, TenantID: tenantID, ClientID: clientID,
		ObjectID: user.ObjectID, UPN: user.UPN, Scp: scp, IDIssuer: a.URL() + "/" + tenantID + "/v2.0"})
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
	resource, scopes, code := a.scopes.Delegated(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	rt, fail, issued := a.refreshTokens.Redeem(form.Get("refresh_token"), clientID, tid, time.Now())
	if fail != 0 {
		when := ""
		if !issued.IsZero() {
			when = issued.UTC().Format(time.RFC3339)
		}
		a.writeOAuthError(w, fail, clientID, tenant, when)
		return
	}
	a.issueUserTokens(w, clientID, rt.TenantID, rt.UPN, resource, scopes)
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
	return a.refreshTokens.Live(upn, time.Now())
}

// RevokeRefreshTokens revokes every refresh token of upn, as a password
// reset or "revoke sessions" does: redeeming one answers AADSTS50173.
func (a *Authority) RevokeRefreshTokens(upn string) { a.refreshTokens.Revoke(upn) }

// ExpireRefreshTokens marks every refresh token of upn as expired by
// inactivity: redeeming one answers AADSTS700082.
func (a *Authority) ExpireRefreshTokens(upn string) { a.refreshTokens.Expire(upn) }
