package entratest

import (
	"fmt"
	"html"
	"net/http"
	"sort"
	"strings"
	"time"
)

type deviceCode struct {
	deviceCode string
	userCode   string
	clientID   string
	tenantID   string
	resource   string
	scopes     []string
	expires    time.Time
	polls      int
	approvedBy string
	declined   bool
	expired    bool
}

// OnDeviceCode registers f to be called with the user code each time a
// device code is issued, so a test can approve it without waiting. f runs on
// the server's request goroutine before the answer is sent; it may call
// ApproveDeviceCode.
func (a *Authority) OnDeviceCode(f func(userCode string)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onDeviceCode = append(a.onDeviceCode, f)
}

// ApproveDeviceCode signs upn in on the device code with this user code,
// as the person would in a browser. An unknown upn is added as a user.
func (a *Authority) ApproveDeviceCode(userCode, upn string) error {
	return a.withDeviceCode(userCode, func(dc *deviceCode) {
		if _, ok := a.users[strings.ToLower(upn)]; !ok {
			a.addUserLocked(User{UPN: upn})
		}
		dc.approvedBy = upn
	})
}

// DeclineDeviceCode declines the sign-in: the next poll answers
// authorization_declined.
func (a *Authority) DeclineDeviceCode(userCode string) error {
	return a.withDeviceCode(userCode, func(dc *deviceCode) { dc.declined = true })
}

// ExpireDeviceCode expires the device code: the next poll answers
// expired_token.
func (a *Authority) ExpireDeviceCode(userCode string) error {
	return a.withDeviceCode(userCode, func(dc *deviceCode) { dc.expired = true })
}

// PendingDeviceCodes lists the user codes waiting for a decision.
func (a *Authority) PendingDeviceCodes() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, dc := range a.deviceCodes {
		if dc.approvedBy == "" && !dc.declined && !dc.expired && time.Now().Before(dc.expires) {
			out = append(out, dc.userCode)
		}
	}
	sort.Strings(out)
	return out
}

func (a *Authority) withDeviceCode(userCode string, f func(*deviceCode)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, dc := range a.deviceCodes {
		if strings.EqualFold(dc.userCode, strings.TrimSpace(userCode)) {
			f(dc)
			return nil
		}
	}
	return fmt.Errorf("entratest: no device code with user code %q", userCode)
}

// serveDeviceCode answers POST /{tenant}/oauth2/v2.0/devicecode.
func (a *Authority) serveDeviceCode(w http.ResponseWriter, r *http.Request, tenant, tid string) {
	form := r.PostForm
	clientID, ok := a.clientOf(w, form, tenant)
	if !ok {
		return
	}
	if !a.isPublic(clientID) {
		a.writeOAuthError(w, 700016, clientID, tenant)
		return
	}
	resource, scopes, code := a.delegatedScope(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	if tid == "" {
		tid = a.opts.TenantID // /organizations: the user's home tenant
	}
	dc := &deviceCode{
		deviceCode: randomString(48),
		userCode:   randomString(9),
		clientID:   clientID,
		tenantID:   tid,
		resource:   resource,
		scopes:     scopes,
		expires:    time.Now().Add(a.opts.DeviceCodeLifetime),
	}
	a.mu.Lock()
	a.deviceCodes[dc.deviceCode] = dc
	callbacks := append([]func(string){}, a.onDeviceCode...)
	a.mu.Unlock()
	for _, f := range callbacks {
		f(dc.userCode)
	}
	verify := a.URL() + "/" + EndpointDeviceLogin
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        dc.userCode,
		"device_code":      dc.deviceCode,
		"verification_uri": verify,
		"expires_in":       int(a.opts.DeviceCodeLifetime / time.Second),
		"interval":         5,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verify, dc.userCode),
	})
}

// pollDeviceCode answers a device_code grant.
func (a *Authority) pollDeviceCode(w http.ResponseWriter, r *http.Request, tenant string) {
	form := r.PostForm
	clientID := form.Get("client_id")
	a.mu.Lock()
	dc, ok := a.deviceCodes[form.Get("device_code")]
	if !ok || !strings.EqualFold(dc.clientID, clientID) {
		a.mu.Unlock()
		a.writeOAuthError(w, 70018, clientID, tenant)
		return
	}
	dc.polls++
	var outcome string
	switch {
	case dc.expired || time.Now().After(dc.expires):
		outcome = "expired"
	case dc.declined:
		outcome = "declined"
	case dc.polls <= a.opts.SlowDownPolls:
		outcome = "slow_down"
	case dc.approvedBy != "" && dc.polls > a.opts.SlowDownPolls+a.opts.PendingPolls:
		outcome = "ok"
	default:
		outcome = "pending"
		if a.opts.AutoApprove != "" && dc.approvedBy == "" {
			if _, ok := a.users[strings.ToLower(a.opts.AutoApprove)]; !ok {
				a.addUserLocked(User{UPN: a.opts.AutoApprove})
			}
			dc.approvedBy = a.opts.AutoApprove
		}
	}
	if outcome != "pending" && outcome != "slow_down" {
		delete(a.deviceCodes, dc.deviceCode)
	}
	a.mu.Unlock()
	switch outcome {
	case "expired":
		a.writeOAuthError(w, 70019, clientID, tenant)
	case "declined":
		a.writeOAuthError(w, 70000, clientID, tenant)
	case "slow_down":
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":             "slow_down",
			"error_description": "Polling too frequently: slow down.",
		})
	case "pending":
		a.writeOAuthError(w, 70016, clientID, tenant)
	case "ok":
		a.issueUserTokens(w, clientID, dc.tenantID, dc.approvedBy, dc.resource, dc.scopes)
	}
}

// serveDeviceLogin is a minimal stand-in for microsoft.com/devicelogin: a
// form that approves a user code for a UPN, for the sandbox.
func (a *Authority) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	msg := ""
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		code, upn := r.PostForm.Get("code"), r.PostForm.Get("upn")
		if upn == "" {
			upn = "user@" + a.opts.TenantDomain
		}
		if err := a.ApproveDeviceCode(code, upn); err != nil {
			msg = html.EscapeString(err.Error())
		} else {
			msg = "Signed in as " + html.EscapeString(upn) + ". You can close this window."
		}
	}
	fmt.Fprintf(w, `<!doctype html><title>entratest device login</title>
<h1>entratest: sign in a device</h1><p>%s</p>
<form method="post"><label>Code <input name="code"></label>
<label>User <input name="upn" value="user@%s"></label>
<button>Approve</button></form>`, msg, html.EscapeString(a.opts.TenantDomain))
}
