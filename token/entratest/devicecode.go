package entratest

import (
	"fmt"
	"html"
	"net/http"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/devicecode"
)

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
	if err := a.deviceCodes.Approve(userCode, upn); err != nil {
		return err
	}
	a.ensureUser(upn)
	return nil
}

// DeclineDeviceCode declines the sign-in: the next poll answers
// authorization_declined.
func (a *Authority) DeclineDeviceCode(userCode string) error {
	return a.deviceCodes.Decline(userCode)
}

// ExpireDeviceCode expires the device code: the next poll answers
// expired_token.
func (a *Authority) ExpireDeviceCode(userCode string) error {
	return a.deviceCodes.Expire(userCode)
}

// PendingDeviceCodes lists the user codes waiting for a decision.
func (a *Authority) PendingDeviceCodes() []string {
	return a.deviceCodes.Pending(time.Now())
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
	resource, scopes, code := a.scopes.Delegated(form.Get("scope"))
	if code != 0 {
		a.writeOAuthError(w, code, clientID, tenant)
		return
	}
	if tid == "" {
		tid = a.opts.TenantID // /organizations: the user's home tenant
	}
	dc := a.deviceCodes.Issue(clientID, tid, resource, scopes, time.Now().Add(a.opts.DeviceCodeLifetime))
	a.mu.Lock()
	callbacks := append([]func(string){}, a.onDeviceCode...)
	a.mu.Unlock()
	for _, f := range callbacks {
		f(dc.UserCode)
	}
	verify := a.URL() + "/" + EndpointDeviceLogin
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":        dc.UserCode,
		"device_code":      dc.DeviceCode,
		"verification_uri": verify,
		"expires_in":       int(a.opts.DeviceCodeLifetime / time.Second),
		"interval":         5,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verify, dc.UserCode),
	})
}

// pollDeviceCode answers a device_code grant.
func (a *Authority) pollDeviceCode(w http.ResponseWriter, r *http.Request, tenant string) {
	clientID := r.PostForm.Get("client_id")
	outcome, dc := a.deviceCodes.Poll(r.PostForm.Get("device_code"), clientID, time.Now())
	switch outcome {
	case devicecode.Unknown:
		a.writeOAuthError(w, 70018, clientID, tenant)
	case devicecode.Expired:
		a.writeOAuthError(w, 70019, clientID, tenant)
	case devicecode.Declined:
		a.writeOAuthError(w, 70000, clientID, tenant)
	case devicecode.SlowDown:
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":             "slow_down",
			"error_description": "Polling too frequently: slow down.",
		})
	case devicecode.Pending:
		if dc.ApprovedBy != "" {
			a.ensureUser(dc.ApprovedBy) // auto-approved
		}
		a.writeOAuthError(w, 70016, clientID, tenant)
	case devicecode.Approved:
		a.issueUserTokens(w, clientID, dc.TenantID, dc.ApprovedBy, dc.Resource, dc.Scopes)
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
	devicecode.LoginPage(w, msg, a.opts.TenantDomain)
}
