// Package authcode is the fake Entra ID's (token/entratest) authorization
// code flow, as a desktop app signs a person in through the browser: the
// loopback redirect URIs it takes, the codes it hands the browser and how
// one is redeemed (once, by its client, with its redirect URI and the PKCE
// S256 code verifier), the pages that send the browser back, and a
// stand-in for the person's browser that follows them.
package authcode

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
	"sync"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// Lifetime is how long an authorization code can be redeemed (Entra ID's
// codes live about ten minutes).
const Lifetime = 10 * time.Minute

// Code is what an authorization code was issued for.
type Code struct {
	ClientID, TenantID, UPN string
	RedirectURI             string
	// Challenge is the S256 PKCE code challenge of the authorize request.
	Challenge string
	Expires   time.Time
	redeemed  bool
}

// Store holds the authorization codes handed out. It is safe for
// concurrent use; the zero value is ready.
type Store struct {
	mu    sync.Mutex
	codes map[string]*Code
}

// Issue stores c under a new code and returns the code.
func (s *Store) Issue(c Code) string {
	code := ids.Random(64)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]*Code{}
	}
	s.codes[code] = &c
	return code
}

// Redeem spends code for clientID at now and returns what it was issued
// for, or the AADSTS code to refuse it with: the code must be known,
// unspent, unexpired, the client's, redeemed with the same redirectURI,
// and verifier's SHA-256 must be the challenge the authorize request
// carried (PKCE S256). Any attempt to redeem a code spends it.
func (s *Store) Redeem(code, clientID, redirectURI, verifier string, now time.Time) (Code, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	fail := 0
	switch {
	case !ok || !strings.EqualFold(c.ClientID, clientID):
		fail = 9002313
	case c.redeemed:
		fail = 54005
	case now.After(c.Expires):
		fail = 70008
	case c.RedirectURI != redirectURI:
		fail = 500112
	case verifier == "":
		fail = 9002313
	case !pkceMatches(verifier, c.Challenge):
		fail = 501481
	}
	if ok && fail != 54005 {
		c.redeemed = true
	}
	if fail != 0 {
		return Code{}, fail
	}
	return *c, 0
}

// pkceMatches reports whether verifier hashes (S256) to challenge.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// LoopbackRedirect reports whether uri is a loopback redirect URI of the
// kind a public client registers for desktop sign-in: http on localhost,
// 127.0.0.1 or [::1], any port (Entra ID ignores the port of a loopback
// redirect URI).
func LoopbackRedirect(uri string) bool {
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

// RedirectBack sends the browser to redirectURI (a LoopbackRedirect) with
// vals and state, in responseMode: a self-submitting form for form_post
// (what MSAL's loopback listener wants), the fragment for fragment, else
// a redirect with them in the query.
func RedirectBack(w http.ResponseWriter, redirectURI, responseMode, state string, vals url.Values) {
	if state != "" {
		vals.Set("state", state)
	}
	if responseMode == "form_post" {
		var b strings.Builder
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>Working...</title></head>\n<body onload=\"document.forms[0].submit()\">\n<form method=\"POST\" name=\"hiddenform\" action=\"%s\">\n", html.EscapeString(redirectURI))
		for _, k := range []string{"code", "state", "error", "error_description"} {
			if v := vals.Get(k); v != "" {
				fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\" />\n", k, html.EscapeString(v))
			}
		}
		b.WriteString("<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript>\n</form>\n</body></html>\n")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store, no-cache")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, b.String())
		return
	}
	u, _ := url.Parse(redirectURI) // checked by LoopbackRedirect
	if responseMode == "fragment" {
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

// ErrorPage shows an error to the person in the browser.
func ErrorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<!DOCTYPE html>\n<html><body><p>Sorry, but we're having trouble signing you in.</p><p>"+html.EscapeString(msg)+"</p></body></html>\n")
}

// Browse plays a person's browser on an authorize address (see
// entratest.Browse).
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

// parseHiddenForm reads the form RedirectBack writes for form_post.
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
