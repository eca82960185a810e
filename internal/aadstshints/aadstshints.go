// Package aadstshints holds the table that gives an Entra ID error's
// AADSTS code its meaning, its kind of failure and a one-line hint,
// following docs/microsoft.md. Package token uses it for its errors and
// exports it as token.AADSTSHints; it is the Entra ID counterpart of
// internal/replyhints.
package aadstshints

import "github.com/m365send/m365send/internal/failure"

// Hint is one row of the table of AADSTS codes: what the code means,
// what kind of failure it is and what to do. The command line's
// troubleshooting docs and its tests are built from it.
type Hint struct {
	// Code is the AADSTS number (7000215 for AADSTS7000215).
	Code int
	// Meaning says in a few words what Entra ID means by the code.
	Meaning string
	// Kind is the failure kind an answer with this code gets.
	Kind failure.Kind
	// Hint says what to do, in terms of the profile and Entra ID.
	Hint string
	// SignIn is true when, answering a silent (refresh token) request,
	// the code means that only signing in again cures it: the error then
	// matches token.ErrLoginRequired and its kind is failure.SignIn.
	SignIn bool
}

// All returns the table of AADSTS codes (see docs/microsoft.md), one row
// per code. Each call returns a new slice the caller may change.
func All() []Hint {
	const (
		cfg  = failure.Config
		perm = failure.Permission
	)
	return []Hint{
		// The profile is wrong.
		{7000215, "invalid client secret", cfg, "the client secret is wrong: use the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page", false},
		{7000222, "client secret expired", cfg, "the client secret has expired: create a new one under the app registration's Certificates & secrets and update the profile", false},
		{700027, "client assertion failed signature validation", cfg, "the certificate assertion failed validation: upload this certificate (its public part) to the app registration, or use the certificate that is registered there", false},
		{700016, "application not found in the tenant", cfg, "the app was not found in this tenant: check the client ID and tenant, and that an admin has consented to the app in this tenant", false},
		{90002, "tenant not found", cfg, "the tenant was not found: check the tenant domain or GUID, and that the cloud matches where the tenant lives", false},
		{90038, "tenant is in another national cloud", cfg, "the tenant belongs to another Microsoft cloud: set the cloud (usgov, usgovdod or china) to the tenant's cloud", false},
		{70011, "invalid scope", cfg, "the scope is invalid: use the Exchange resource's scope (https://outlook.office365.com/.default for apps, .../SMTP.Send for people) of the right cloud", false},
		{700022, "scope names several resources", cfg, "the scope spans several resources: request only the Exchange Online scope", false},
		{9001023, "grant not supported on /common or /consumers", cfg, "this grant does not work on /common or /consumers: set the tenant to your tenant's domain or GUID", false},
		{500011, "resource principal not found in the tenant", cfg, "the Exchange Online resource is not in this tenant: check the tenant and the cloud, and that the tenant has Exchange Online", false},
		{50011, "redirect URI not registered for the app", cfg, "the sign-in's redirect URI is not registered: add http://localhost under the app registration's Authentication > Mobile and desktop applications (or sign in with a device code)", false},
		{7000218, "public client flows are off for the app", cfg, "device-code sign-in needs public client flows: turn on \"Allow public client flows\" under the app registration's Authentication page", false},
		{700024, "federated assertion outside its validity", cfg, "the federated token has expired or is not yet valid: check that the platform refreshes the federated token file and that the clock is right", false},
		{700211, "no federated credential matches the assertion's issuer", cfg, "no federated credential of the app registration matches the token's issuer: add one for this issuer under Certificates & secrets > Federated credentials", false},
		{700213, "no federated credential matches the assertion's subject", cfg, "no federated credential of the app registration matches the token's subject: add one for this subject under Certificates & secrets > Federated credentials", false},
		{50027, "invalid or malformed JWT", cfg, "the federated token is not a valid JWT: check the federated token file's content", false},

		// Microsoft refused permission.
		{65001, "consent missing", perm, "consent is missing: an admin must grant consent for the app's SMTP permission (API permissions > Grant admin consent)", true},
		{50076, "multi-factor authentication required", perm, "multi-factor authentication is required: a person must sign in again for this profile and complete the MFA prompt", true},
		{50079, "the user must register for multi-factor authentication", perm, "the user must register for multi-factor authentication at https://aka.ms/mfasetup, then sign in again for this profile", true},
		{53003, "blocked by Conditional Access", perm, "a Conditional Access policy blocked the sign-in: ask an admin to check the sign-in logs and the policy that applies to this app", false},
		{530035, "blocked by security defaults", perm, "security defaults blocked the sign-in: ask an admin to check the sign-in logs, or sign in with device code and MFA", false},
		{700082, "refresh token expired after 90 days without use", perm, "the sign-in expired after 90 days without use: a person must sign in again for this profile", true},
		{50173, "sign-in revoked (password change or session revocation)", perm, "the sign-in was revoked (password change or session revocation): a person must sign in again for this profile", true},
		{65004, "the user declined consent", perm, "the person declined consent to the app: sign in again and accept, or ask an admin to grant consent for the organisation", false},
		{50105, "user not assigned to the app", perm, "the user is not assigned to the app: an admin must assign the user (Enterprise applications > Users and groups) or turn off assignment required", false},
		{50126, "invalid user name or password", perm, "the user name or password was wrong: sign in again with the right account", false},
		{7000112, "application disabled", perm, "the app is disabled in this tenant: ask an admin to enable its enterprise application", false},

		// On a silent request only signing in again cures these.
		{9002313, "invalid request (malformed, or an unusable refresh token)", cfg, "Entra ID found the request malformed; for a cached sign-in, a person must sign in again for this profile", true},
		{70043, "refresh token expired by Conditional Access sign-in frequency", perm, "a Conditional Access sign-in frequency policy ended the sign-in: a person must sign in again for this profile", true},
		{700084, "refresh token expired", perm, "the sign-in has expired: a person must sign in again for this profile", true},
	}
}

// For returns the row for code, or a zero row (Code 0) when the table
// has none.
func For(code int) Hint {
	if code == 0 {
		return Hint{}
	}
	for _, h := range All() {
		if h.Code == code {
			return h
		}
	}
	return Hint{}
}
