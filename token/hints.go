package token

// hints says what to do for each AADSTS code in FACTS.md, one line each.
var hints = map[int]string{
	7000215: "the client secret is wrong: use the secret's Value (not its Secret ID) from the app registration's Certificates & secrets page",
	7000222: "the client secret has expired: create a new one under the app registration's Certificates & secrets and update the profile",
	700027:  "the certificate assertion failed validation: upload this certificate (its public part) to the app registration, or use the certificate that is registered there",
	700016:  "the app was not found in this tenant: check client_id and tenant, and that an admin has consented to the app in this tenant",
	90002:   "the tenant was not found: check the tenant domain or GUID, and that cloud matches where the tenant lives",
	90038:   "the tenant belongs to another Microsoft cloud: set cloud (usgov, usgovdod or china) to the tenant's cloud",
	65001:   "consent is missing: an admin must grant consent for the app's SMTP permission (API permissions > Grant admin consent)",
	70011:   "the scope is invalid: use the Exchange resource's scope (https://outlook.office365.com/.default for apps, .../SMTP.Send for users) of the right cloud",
	700022:  "the scope spans several resources: request only the Exchange Online scope",
	50076:   "multi-factor authentication is required: run `m365send login` and complete the MFA prompt",
	50079:   "the user must register for multi-factor authentication: register at https://aka.ms/mfasetup, then run `m365send login`",
	53003:   "a Conditional Access policy blocked the sign-in: ask an admin to check the sign-in logs and the policy that applies to this app",
	530035:  "security defaults blocked the sign-in: ask an admin to check the sign-in logs, or sign in with device code and MFA",
	700082:  "the sign-in expired after 90 days without use: run `m365send login` again",
	50173:   "the sign-in was revoked (password change or session revocation): run `m365send login` again",
	9001023: "this grant does not work on /common or /consumers: set tenant to your tenant's domain or GUID",
}

// hintFor returns the hint for an AADSTS code, or "".
func hintFor(code int) string { return hints[code] }

// Hint returns the one-line hint for an AADSTS code (7000215 for
// AADSTS7000215), or "" when there is none.
func Hint(code int) string { return hintFor(code) }
