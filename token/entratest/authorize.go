package entratest

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/authcode"
)

// EndpointAuthorize is the authorization endpoint a browser is sent to
// (GET /{tenant}/oauth2/v2.0/authorize), for Requests.
const EndpointAuthorize = "authorize"

// GrantAuthorizationCode is the grant_type that redeems an authorization
// code.
const GrantAuthorizationCode = "authorization_code"

// AuthorizeRequest is what the authorization endpoint was last asked, for
// tests that look at the PKCE challenge a client sent.
type AuthorizeRequest struct {
	// ClientID is the client_id parameter.
	ClientID string
	// RedirectURI is where the browser was sent back to.
	RedirectURI string
	// Scope is the scope parameter, as sent.
	Scope string
	// State is the state parameter.
	State string
	// CodeChallenge is the PKCE code challenge.
	CodeChallenge string
	// CodeChallengeMethod is the PKCE method (the fake takes only S256).
	CodeChallengeMethod string
	// ResponseMode is form_post, query (also when empty) or fragment.
	ResponseMode string
}

// LastAuthorize returns the last request the authorization endpoint
// answered with a code, and false if there was none.
func (a *Authority) LastAuthorize() (AuthorizeRequest, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.lastAuthorize == nil {
		return AuthorizeRequest{}, false
	}
	return *a.lastAuthorize, true
}

// serveAuthorize answers GET /{tenant}/oauth2/v2.0/authorize as Entra ID
// does once the person has signed in: the sign-in itself is approved at
// once for Options.AutoApprove (the fake asks nobody). It checks the
// client, the loopback redirect URI and the PKCE challenge (S256 only),
// then sends the browser back to redirect_uri with code and state: a
// self-submitting form for response_mode=form_post (what MSAL's loopback
// listener wants), else a redirect with them in the query.
func (a *Authority) serveAuthorize(w http.ResponseWriter, r *http.Request, tenant, tid string) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	req := AuthorizeRequest{
		ClientID:            q.Get("client_id"),
		RedirectURI:         q.Get("redirect_uri"),
		Scope:               q.Get("scope"),
		State:               q.Get("state"),
		CodeChallenge:       q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"),
		ResponseMode:        q.Get("response_mode"),
	}
	// Errors before the redirect URI is known good are shown to the
	// person, never sent to that URI.
	if req.ClientID == "" || !a.isPublic(req.ClientID) {
		authcode.ErrorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s', or it is not a public client.", req.ClientID, tenant))
		return
	}
	if !authcode.LoopbackRedirect(req.RedirectURI) {
		authcode.ErrorPage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", req.RedirectURI, req.ClientID))
		return
	}
	back := func(vals url.Values) { authcode.RedirectBack(w, req.RedirectURI, req.ResponseMode, req.State, vals) }
	fail := func(oauthErr, desc string) { back(url.Values{"error": {oauthErr}, "error_description": {desc}}) }
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "AADSTS700054: response_type 'code' is required.")
		return
	}
	if req.CodeChallengeMethod != "S256" || len(req.CodeChallenge) != 43 {
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.")
		return
	}
	if _, _, code := a.scopes.Delegated(req.Scope); code != 0 {
		fail("invalid_scope", fmt.Sprintf("AADSTS%d: The provided value for the input parameter 'scope' is not valid.", code))
		return
	}
	upn := a.opts.AutoApprove
	if upn == "" {
		fail("access_denied", "AADSTS50126: Nobody signed in (entratest: set Options.AutoApprove).")
		return
	}
	if tid == "" {
		tid = a.opts.TenantID // /organizations: the user's home tenant
	}
	a.ensureUser(upn)
	code := a.authCodes.Issue(authcode.Code{
		ClientID: req.ClientID, TenantID: tid, UPN: upn, RedirectURI: req.RedirectURI,
		Challenge: req.CodeChallenge, Expires: time.Now().Add(authcode.Lifetime),
	})
	a.mu.Lock()
	a.lastAuthorize = &req
	a.mu.Unlock()
	a.recordIssued(code)
	back(url.Values{"code": {code}})
}

// redeemAuthCode answers an authorization_code grant (see
// authcode.Store.Redeem for what it checks).
func (a *Authority) redeemAuthCode(w http.ResponseWriter, r *http.Request, tenant string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	resource, scopes, scode := a.scopes.Delegated(form.Get("scope"))
	if scode != 0 {
		a.writeOAuthError(w, scode, clientID, tenant)
		return
	}
	ac, fail := a.authCodes.Redeem(form.Get("code"), clientID, form.Get("redirect_uri"), form.Get("code_verifier"), time.Now())
	if fail != 0 {
		a.writeOAuthError(w, fail, clientID, tenant)
		return
	}
	a.issueUserTokens(w, clientID, ac.TenantID, ac.UPN, resource, scopes)
}

// Browse plays a person's browser on an authorize address: it follows
// authorizeURL with client (which must trust the authority's CA), and
// then where Entra ID sends the browser back. A redirect (response_mode
// query or fragment) is not followed: its address is returned, which is
// what a person pastes back. A self-submitting form (form_post) is posted
// to its action with loopback, as a browser would, and the action is
// returned. loopback nil uses a plain client without proxy.
func Browse(client, loopback *http.Client, authorizeURL string) (string, error) {
	return authcode.Browse(client, loopback, authorizeURL)
}
