package entratest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// EndpointAuthorize is the authorization endpoint a browser is sent to
// (GET /{tenant}/oauth2/v2.0/authorize), for Requests.
const EndpointAuthorize = "authorize"

// GrantAuthorizationCode is the grant_type that redeems an authorization
// code.
const GrantAuthorizationCode = "authorization_code"

// authCodeLifetime is how long an authorization code can be redeemed
// (Entra ID's codes live about ten minutes).
const authCodeLifetime = 10 * time.Minute

// authCode is an authorization code handed to a browser, waiting to be
// redeemed at the token endpoint with the PKCE code verifier.
type authCode struct {
	clientID    string
	tenantID    string
	upn         string
	redirectURI string
	challenge   string // S256 PKCE code challenge
	expires     time.Time
	redeemed    bool
}

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
		authorizePage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s', or it is not a public client.", req.ClientID, tenant))
		return
	}
	if !loopbackRedirect(req.RedirectURI) {
		authorizePage(w, http.StatusBadRequest, fmt.Sprintf("AADSTS50011: The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'.", req.RedirectURI, req.ClientID))
		return
	}
	fail := func(oauthErr, desc string) {
		a.redirectBack(w, req, url.Values{"error": {oauthErr}, "error_description": {desc}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "AADSTS700054: response_type 'code' is required.")
		return
	}
	if req.CodeChallengeMethod != "S256" || len(req.CodeChallenge) != 43 {
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge with code_challenge_method S256.")
		return
	}
	if _, _, code := a.delegatedScope(req.Scope); code != 0 {
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
	code := randomString(64)
	a.mu.Lock()
	if _, ok := a.users[strings.ToLower(upn)]; !ok {
		a.addUserLocked(User{UPN: upn})
	}
	a.authCodes[code] = &authCode{
		clientID: req.ClientID, tenantID: tid, upn: upn, redirectURI: req.RedirectURI,
		challenge: req.CodeChallenge, expires: time.Now().Add(authCodeLifetime),
	}
	a.lastAuthorize = &req
	a.mu.Unlock()
	a.recordIssued(code)
	a.redirectBack(w, req, url.Values{"code": {code}})
}

// redirectBack sends the browser to req.RedirectURI with vals and the
// request's state, in the response mode asked for.
func (a *Authority) redirectBack(w http.ResponseWriter, req AuthorizeRequest, vals url.Values) {
	if req.State != "" {
		vals.Set("state", req.State)
	}
	if req.ResponseMode == "form_post" {
		var b strings.Builder
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>Working...</title></head>\n<body onload=\"document.forms[0].submit()\">\n<form method=\"POST\" name=\"hiddenform\" action=\"%s\">\n", html.EscapeString(req.RedirectURI))
		for _, k := range []string{"code", "state", "error", "error_description"} {
			if v := vals.Get(k); v != "" {
				fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\" />\n", k, html.EscapeString(v))
			}
		}
		b.WriteString("<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript>\n</form>\n</body></html>\n")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store, no-cache")
		w.WriteHeader(http.StatusOK)
		writeBody(w, []byte(b.String()))
		return
	}
	u, _ := url.Parse(req.RedirectURI) // checked by loopbackRedirect
	if req.ResponseMode == "fragment" {
		u.Fragment = vals.Encode()
	} else {
		q := u.Query()
		for k, v := range vals {
			q[k] = v
		}
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Location", u.String())
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(http.StatusFound)
}

// authorizePage shows an error to the person in the browser.
func authorizePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	writeBody(w, []byte("<!DOCTYPE html>\n<html><body><p>Sorry, but we're having trouble signing you in.</p><p>"+html.EscapeString(msg)+"</p></body></html>\n"))
}

// loopbackRedirect reports whether uri is a loopback redirect URI of the
// kind a public client registers for desktop sign-in: http on localhost,
// 127.0.0.1 or [::1], any port (Entra ID ignores the port of a loopback
// redirect URI).
func loopbackRedirect(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redeemAuthCode answers an authorization_code grant: the code must be
// known, unspent, unexpired, the client's, redeemed with the same
// redirect_uri, and the code_verifier's SHA-256 must be the challenge the
// authorize request carried (PKCE S256).
func (a *Authority) redeemAuthCode(w http.ResponseWriter, r *http.Request, tenant string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	resource, scopes, scode := a.delegatedScope(form.Get("scope"))
	if scode != 0 {
		a.writeOAuthError(w, scode, clientID, tenant)
		return
	}
	a.mu.Lock()
	ac, ok := a.authCodes[form.Get("code")]
	fail := 0
	switch {
	case !ok || !strings.EqualFold(ac.clientID, clientID):
		fail = 9002313
	case ac.redeemed:
		fail = 54005
	case time.Now().After(ac.expires):
		fail = 70008
	case ac.redirectURI != form.Get("redirect_uri"):
		fail = 500112
	case form.Get("code_verifier") == "":
		fail = 9002313
	case !pkceMatches(form.Get("code_verifier"), ac.challenge):
		fail = 501481
	}
	if ok && fail != 54005 {
		// A code is spent by any attempt to redeem it.
		ac.redeemed = true
	}
	a.mu.Unlock()
	if fail != 0 {
		a.writeOAuthError(w, fail, clientID, tenant)
		return
	}
	a.issueUserTokens(w, clientID, ac.tenantID, ac.upn, resource, scopes)
}

// pkceMatches reports whether verifier hashes (S256) to challenge.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// Browse plays a person's browser on an authorize address: it follows
// authorizeURL with client (which must trust the authority's CA), and
// then where Entra ID sends the browser back. A redirect (response_mode
// query or fragment) is not followed: its address is returned, which is
// what a person pastes back. A self-submitting form (form_post) is posted
// to its action with loopback, as a browser would, and the action is
// returned. loopback nil uses a plain client without proxy.
func Browse(client, loopback *http.Client, authorizeURL string) (string, error) {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authorizeURL)
	if err != nil {
		return "", fmt.Errorf("entratest: browse: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("entratest: browse: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusFound:
		return resp.Header.Get("Location"), nil
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("entratest: browse: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	action, form, err := parseHiddenForm(string(body))
	if err != nil {
		return "", err
	}
	if loopback == nil {
		loopback = &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: time.Minute}
	}
	post, err := loopback.PostForm(action, form)
	if err != nil {
		return "", fmt.Errorf("entratest: browse: post to the redirect URI: %w", err)
	}
	pb, _ := io.ReadAll(io.LimitReader(post.Body, 1<<20))
	post.Body.Close()
	if post.StatusCode != http.StatusOK {
		return "", fmt.Errorf("entratest: browse: the redirect URI answered %s: %s", post.Status, strings.TrimSpace(string(pb)))
	}
	return action, nil
}

var (
	formActionRE = regexp.MustCompile(`<form method="POST" name="hiddenform" action="([^"]*)">`)
	hiddenRE     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)" />`)
)

// parseHiddenForm reads the form redirectBack writes for form_post.
func parseHiddenForm(page string) (string, url.Values, error) {
	m := formActionRE.FindStringSubmatch(page)
	if m == nil {
		return "", nil, errors.New("entratest: browse: the authorize page holds no form to post")
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), form, nil
}
