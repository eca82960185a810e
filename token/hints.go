package token

import (
	"context"
	"errors"
)

// Kind says what an Entra ID failure calls for, so that callers (the
// command's exit status) need not know AADSTS codes themselves.
type Kind int

const (
	// KindOther is a refusal this package does not classify.
	KindOther Kind = iota
	// KindConfig means the profile is wrong: the secret, certificate,
	// client ID, tenant, cloud or scope does not match what Entra ID holds.
	KindConfig
	// KindPermission means Microsoft refused permission: consent is
	// missing or declined, Conditional Access, security defaults or MFA
	// blocked the sign-in, or the sign-in expired or was revoked.
	KindPermission
	// KindSignIn means a sign-in is required: the error wraps
	// ErrLoginRequired, and `m365send login` cures it.
	KindSignIn
	// KindTemporary means the failure is worth retrying later: Entra ID
	// was busy or unreachable, or the request was interrupted or timed out.
	KindTemporary
)

// String returns the kind's name, such as "config".
func (k Kind) String() string {
	switch k {
	case KindConfig:
		return "config"
	case KindPermission:
		return "permission"
	case KindSignIn:
		return "sign-in"
	case KindTemporary:
		return "temporary"
	}
	return "other"
}

// aadsts is what this package knows of one AADSTS code.
type aadsts struct {
	// kind classifies the code; KindOther leaves it to the OAuth error.
	kind Kind
	// signIn is true when, answering a silent (refresh token) request,
	// the code means only signing in again cures it.
	signIn bool
	// hint says what to do, or "".
	hint string
}

// aadstsInfo is the one table of AADSTS codes: docs/microsoft.md's codes with
// their hints, and the others whose kind or sign-in need is known.
func aadstsInfo(code int) aadsts {
	switch code {
	// The profile is wrong.
	case 7000215:
		return aadsts{kind: KindConfig, hint: "the client secret is wrong: use the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page"}
	case 7000222:
		return aadsts{kind: KindConfig, hint: "the client secret has expired: create a new one under the app registration's Certificates & secrets and update the profile"}
	case 700027:
		return aadsts{kind: KindConfig, hint: "the certificate assertion failed validation: upload this certificate (its public part) to the app registration, or use the certificate that is registered there"}
	case 700016:
		return aadsts{kind: KindConfig, hint: "the app was not found in this tenant: check client_id and tenant, and that an admin has consented to the app in this tenant"}
	case 90002:
		return aadsts{kind: KindConfig, hint: "the tenant was not found: check the tenant domain or GUID, and that cloud matches where the tenant lives"}
	case 90038:
		return aadsts{kind: KindConfig, hint: "the tenant belongs to another Microsoft cloud: set cloud (usgov, usgovdod or china) to the tenant's cloud"}
	case 70011:
		return aadsts{kind: KindConfig, hint: "the scope is invalid: use the Exchange resource's scope (https://outlook.office365.com/.default for apps, .../SMTP.Send for users) of the right cloud"}
	case 700022:
		return aadsts{kind: KindConfig, hint: "the scope spans several resources: request only the Exchange Online scope"}
	case 9001023:
		return aadsts{kind: KindConfig, hint: "this grant does not work on /common or /consumers: set tenant to your tenant's domain or GUID"}
	case 500011, // resource principal not found in the tenant
		7000218, // public client flows are off for the app registration
		700024,  // federated assertion outside its validity
		700211,  // no matching federated identity issuer
		700213,  // no matching federated identity subject
		50027:   // invalid JWT (federated assertion)
		return aadsts{kind: KindConfig}

	// Microsoft refused permission.
	case 65001:
		return aadsts{kind: KindPermission, signIn: true, hint: "consent is missing: an admin must grant consent for the app's SMTP permission (API permissions > Grant admin consent)"}
	case 50076:
		return aadsts{kind: KindPermission, signIn: true, hint: "multi-factor authentication is required: run `m365send login` and complete the MFA prompt"}
	case 50079:
		return aadsts{kind: KindPermission, signIn: true, hint: "the user must register for multi-factor authentication: register at https://aka.ms/mfasetup, then run `m365send login`"}
	case 53003:
		return aadsts{kind: KindPermission, hint: "a Conditional Access policy blocked the sign-in: ask an admin to check the sign-in logs and the policy that applies to this app"}
	case 530035:
		return aadsts{kind: KindPermission, hint: "security defaults blocked the sign-in: ask an admin to check the sign-in logs, or sign in with device code and MFA"}
	case 700082:
		return aadsts{kind: KindPermission, signIn: true, hint: "the sign-in expired after 90 days without use: run `m365send login` again"}
	case 50173:
		return aadsts{kind: KindPermission, signIn: true, hint: "the sign-in was revoked (password change or session revocation): run `m365send login` again"}
	case 65004, // user declined consent
		50105,   // user not assigned to the app
		50126,   // bad user credentials
		7000112: // application disabled
		return aadsts{kind: KindPermission}

	// Only signing in again cures these on a silent request; otherwise
	// the OAuth error classifies them.
	case 9002313, 70043, 700084:
		return aadsts{signIn: true}
	}
	return aadsts{}
}

// Hint returns the one-line hint for an AADSTS code (7000215 for
// AADSTS7000215), or "" when there is none.
func Hint(code int) string { return aadstsInfo(code).hint }

// Kind classifies the failure from its AADSTS code, else its OAuth error:
// KindSignIn when it wraps ErrLoginRequired, KindTemporary when it is
// Temporary or was interrupted.
func (e *Error) Kind() Kind {
	if errors.Is(e.Err, ErrLoginRequired) {
		return KindSignIn
	}
	if e.Temporary {
		return KindTemporary
	}
	if k := aadstsInfo(e.Code).kind; k != KindOther {
		return k
	}
	switch e.OAuthError {
	case "invalid_client", "unauthorized_client", "invalid_scope", "invalid_request", "unsupported_grant_type":
		return KindConfig
	case "invalid_grant", "access_denied", "consent_required", "interaction_required", "authorization_declined", "expired_token":
		return KindPermission
	case "temporarily_unavailable", "server_error", "slow_down":
		return KindTemporary
	}
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return KindTemporary
	}
	return KindOther
}
