// Package aadsts is how the fake Entra ID (token/entratest) refuses a
// request: the OAuth error, HTTP status and description Entra ID gives for
// each AADSTS code the fake knows, in Entra ID's wording.
package aadsts

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// entry is how Entra ID answers one AADSTS code: the OAuth error field,
// the HTTP status and the description's first sentence (with %[1]s the
// client ID and %[2]s the tenant).
type entry struct {
	oauth  string
	status int
	text   string
}

// lookup is how Entra ID answers the codes the fake knows, with Entra
// ID's wording; ok is false for any other code.
func lookup(code int) (e entry, ok bool) {
	switch code {
	case 7000215:
		return entry{"invalid_client", 401, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%[1]s'."}, true
	case 7000222:
		return entry{"invalid_client", 401, "The provided client secret keys for app '%[1]s' are expired. Visit the Azure portal to create new keys for your app."}, true
	case 7000218:
		return entry{"invalid_client", 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}, true
	case 700027:
		return entry{"invalid_client", 401, "Client assertion failed signature validation. The key used to sign the assertion is not registered on application '%[1]s'."}, true
	case 700016:
		return entry{"unauthorized_client", 400, "Application with identifier '%[1]s' was not found in the directory '%[2]s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."}, true
	case 700211:
		return entry{"invalid_client", 401, "No matching federated identity record found for presented assertion issuer."}, true
	case 700213:
		return entry{"invalid_client", 401, "No matching federated identity record found for presented assertion subject."}, true
	case 700212:
		return entry{"invalid_client", 401, "No matching federated identity record found for presented assertion audience."}, true
	case 700024:
		return entry{"invalid_client", 401, "Client assertion is not within its valid time range."}, true
	case 90002:
		return entry{"invalid_tenant", 400, "Tenant '%[2]s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."}, true
	case 90038:
		return entry{"invalid_request", 400, "Tenant '%[2]s' request is being redirected to the National Cloud; the tenant belongs to another cloud."}, true
	case 65001:
		return entry{"invalid_grant", 400, "The user or administrator has not consented to use the application with ID '%[1]s'. Send an interactive authorization request for this user and resource."}, true
	case 70011:
		return entry{"invalid_scope", 400, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid."}, true
	case 700022:
		return entry{"invalid_scope", 400, "The provided value for the input parameter scope is not valid because it contains more than one resource."}, true
	case 1002012:
		return entry{"invalid_scope", 400, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}, true
	case 50076:
		return entry{"interaction_required", 400, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource."}, true
	case 50079:
		return entry{"interaction_required", 400, "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource."}, true
	case 53003:
		return entry{"invalid_grant", 400, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."}, true
	case 530035:
		return entry{"invalid_grant", 400, "Access has been blocked by security defaults. This is due to the request using legacy auth or being deemed unsafe by security defaults policies."}, true
	case 700082:
		return entry{"invalid_grant", 400, "The refresh token has expired due to inactivity. The token was issued on %[3]s and was inactive for 90.00:00:00."}, true
	case 50173:
		return entry{"invalid_grant", 400, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."}, true
	case 9001023:
		return entry{"invalid_request", 400, "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."}, true
	case 9002313:
		return entry{"invalid_grant", 400, "Invalid request. Request is malformed or invalid."}, true
	case 70003:
		return entry{"unsupported_grant_type", 400, "The app requested an unsupported grant type."}, true
	case 900144:
		return entry{"invalid_request", 400, "The request body must contain the following parameter: '%[4]s'."}, true
	case 70016:
		return entry{"authorization_pending", 400, "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}, true
	case 70019:
		return entry{"expired_token", 400, "Verification code expired."}, true
	case 70000:
		return entry{"authorization_declined", 400, "The user declined the authorization request."}, true
	case 70018:
		return entry{"bad_verification_code", 400, "Invalid verification code. Ensure the device code is correct."}, true
	case 90033:
		return entry{"temporarily_unavailable", 503, "A transient error has occurred. Please try again."}, true
	case 50196:
		return entry{"temporarily_unavailable", 429, "The server terminated an operation because it encountered a client request loop. Please try again later."}, true
	case 54005:
		return entry{"invalid_grant", 400, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."}, true
	case 70008:
		return entry{"invalid_grant", 400, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."}, true
	case 500112:
		return entry{"invalid_grant", 400, "The reply address does not match the reply address provided when requesting Authorization code."}, true
	case 501481:
		return entry{"invalid_grant", 400, "The Code_Verifier does not match the code_challenge supplied in the authorization request."}, true
	case 900971:
		return entry{"invalid_request", 400, "No reply address provided."}, true
	}
	return entry{}, false
}

// Known reports whether the fake knows code's answer.
func Known(code int) bool {
	_, ok := lookup(code)
	return ok
}

// Response builds Entra ID's answer to a request refused with an AADSTS
// code: the HTTP status and the error body, whose description args fill
// (client ID, tenant, ...); an unknown code gets a generic one.
func Response(code int, args ...any) (int, map[string]any) {
	e, ok := lookup(code)
	if !ok {
		e = entry{"invalid_request", 400, "Simulated failure."}
	}
	text := e.text
	for i := 1; i <= 4; i++ {
		v := ""
		if i <= len(args) {
			v = fmt.Sprint(args[i-1])
		}
		text = strings.ReplaceAll(text, fmt.Sprintf("%%[%d]s", i), v)
	}
	now := time.Now().UTC()
	trace, corr := ids.New(), ids.New()
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
		code, text, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	return e.status, map[string]any{
		"error":             e.oauth,
		"error_description": desc,
		"error_codes":       []int{code},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(code),
	}
}
