// Package replyhints holds the table that gives an SMTP server's reply its
// kind of failure and a one-line hint, following docs/microsoft.md
// ("Replies and what they mean"). Package sender uses it for its errors and
// exports it as sender.ReplyHints.
package replyhints

import (
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// Hint is one row of the table that gives a server reply its kind of
// failure and a one-line hint. The rows follow docs/microsoft.md ("Replies
// and what they mean"); rows with Default set are the per-class defaults
// that catch a reply no specific row knows (an unknown 4xx, a 535 with
// another enhanced code, an unknown 5.1.x, ...).
type Hint struct {
	// Match says in words which replies the row covers.
	Match string
	// Code, EnhancedCode and Text make an example reply the row matches,
	// as Exchange Online (or, for a default row, another server) sends it.
	Code         int
	EnhancedCode string
	Text         string
	// Kind is the kind of failure such a reply means.
	Kind failure.Kind
	// Hint is one line saying what to check or do.
	Hint string
	// Default is true for a per-class default row.
	Default bool
}

// rule is a Hint with the test that picks it.
type rule struct {
	Hint
	match func(code int, enh, text string) bool
}

// Hints shared by several rows.
const (
	hintSendAs     = "the mailbox may not send as this From address: grant it SendAs (Add-RecipientPermission <from> -Trustee <mailbox> -AccessRights SendAs) or send From the mailbox itself"
	hintRestricted = "the sender is restricted as a suspected spammer or compromised account: an admin must release it (Microsoft Defender portal, Restricted entities) after securing the account"
	hintOldTLS     = "the connection used TLS below 1.2: Office 365 requires TLS 1.2 or later; check for a proxy that downgrades TLS"
)

// rules returns the rules in the order they are tried: the specific
// rows first, the more specific before the more general, then the
// per-class defaults. The last rule matches every reply.
func rules() []rule {
	return []rule{
		{Hint{Match: "5.7.139 with \"SmtpClientAuthentication is disabled\"",
			Code: 535, EnhancedCode: "5.7.139", Text: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
			Kind: failure.Permission,
			Hint: "SMTP AUTH is disabled: run Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (or Set-TransportConfig -SmtpClientAuthenticationDisabled $false for the tenant)"},
			func(_ int, enh, text string) bool {
				return enh == "5.7.139" && containsFold(text, "SmtpClientAuthentication is disabled")
			}},
		{Hint{Match: "5.7.139 (security defaults, Conditional Access)",
			Code: 535, EnhancedCode: "5.7.139", Text: "Authentication unsuccessful, user is locked by your organization's security defaults policy. Contact your administrator.",
			Kind: failure.Permission,
			Hint: "security defaults or a Conditional Access policy blocks this sign-in: exclude the account or app from the policy, or turn security defaults off"},
			func(_ int, enh, _ string) bool { return enh == "5.7.139" }},
		{Hint{Match: "5.7.3",
			Code: 535, EnhancedCode: "5.7.3", Text: "Authentication unsuccessful [SN4PR0601CA0002.namprd06.prod.outlook.com]",
			Kind: failure.Permission,
			Hint: "the token was refused: check its audience/scope (outlook.office365.com, not Graph), the Exchange service principal (New-ServicePrincipal with the Enterprise application's object ID) and the mailbox permission (Add-MailboxPermission); changes can take up to an hour to apply"},
			func(_ int, enh, _ string) bool { return enh == "5.7.3" }},
		{Hint{Match: "530, or 5.7.57",
			Code: 530, EnhancedCode: "5.7.57", Text: "Client was not authenticated to send anonymous mail during MAIL FROM",
			Kind: failure.Permission,
			Hint: "the server got MAIL FROM without a successful AUTH: authenticate with XOAUTH2 first"},
			func(code int, enh, _ string) bool { return enh == "5.7.57" || code == 530 }},
		{Hint{Match: "5.7.60",
			Code: 550, EnhancedCode: "5.7.60", Text: "SMTP; Client does not have permissions to send as this sender",
			Kind: failure.Permission, Hint: hintSendAs},
			func(_ int, enh, _ string) bool { return enh == "5.7.60" }},
		{Hint{Match: "5.5.105 (High Volume Email: a recipient outside the tenant)",
			Code: 550, EnhancedCode: "5.5.105", Text: "HVE doesn't support sending to external recipients",
			Kind: failure.BadAddress, Hint: "smtp-hve.office365.com (High Volume Email) delivers only inside the tenant: send mail for outside recipients with another profile (smtp.office365.com, or transport = \"graph\")"},
			func(_ int, enh, _ string) bool { return enh == "5.5.105" }},
		{Hint{Match: "5.2.252, or \"SendAsDenied\" (older: 554 5.2.0 ... SendAsDeniedException)",
			Code: 554, EnhancedCode: "5.2.252", Text: "SendAsDenied; alerts@contoso.com not allowed to send as ceo@contoso.com; STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied",
			Kind: failure.Permission, Hint: hintSendAs},
			func(_ int, enh, text string) bool {
				return enh == "5.2.252" || containsFold(text, "SendAsDenied")
			}},
		{Hint{Match: "432 4.3.2, or 4.3.2 naming the connection or thread limit",
			Code: 432, EnhancedCode: "4.3.2", Text: "Concurrent connections limit exceeded. Visit https://aka.ms/concurrent_sending for more information.",
			Kind: failure.Temporary,
			Hint: "too many connections for this mailbox at once (Exchange allows 3): retry later with backoff, or send with fewer parallel processes"},
			func(code int, enh, text string) bool {
				return enh == "4.3.2" && (code == 432 || containsFold(text, "concurrent connections") || containsFold(text, "thread limit"))
			}},
		{Hint{Match: "\"SubmissionQuotaExceeded\"",
			Code: 554, EnhancedCode: "5.2.0", Text: "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception with message",
			Kind: failure.Quota,
			Hint: "the mailbox reached its daily sending quota (10,000 recipients): wait up to 24 hours, or spread the mail over several mailboxes"},
			func(_ int, _ string, text string) bool {
				return containsFold(text, "SubmissionQuotaExceeded")
			}},
		{Hint{Match: "5.2.2, or \"QuotaExceededException\"",
			Code: 554, EnhancedCode: "5.2.2", Text: "mailbox full; STOREDRV.Submission.Exception:QuotaExceededException.MapiExceptionQuotaExceeded",
			Kind: failure.Unavailable,
			Hint: "the sending mailbox is full (a copy goes to Sent Items): free space in the mailbox or raise its quota"},
			func(_ int, enh, text string) bool {
				return enh == "5.2.2" || containsFold(text, "QuotaExceededException")
			}},
		{Hint{Match: "5.7.30",
			Code: 550, EnhancedCode: "5.7.30", Text: "Basic authentication is not supported for Client Submission.",
			Kind: failure.Permission,
			Hint: "Basic authentication is retired for client submission: use OAuth (XOAUTH2), as this sender does; check that nothing rewrites the AUTH command"},
			func(_ int, enh, _ string) bool { return enh == "5.7.30" }},
		{Hint{Match: "4.7.66",
			Code: 421, EnhancedCode: "4.7.66", Text: "TLS 1.0 and 1.1 are not supported. Please upgrade/update your client to support TLS 1.2.",
			Kind: failure.Temporary, Hint: hintOldTLS},
			func(_ int, enh, _ string) bool { return enh == "4.7.66" }},
		{Hint{Match: "5.7.67",
			Code: 554, EnhancedCode: "5.7.67", Text: "TLS 1.0 and 1.1 are not supported.",
			Kind: failure.Permission, Hint: hintOldTLS},
			func(_ int, enh, _ string) bool { return enh == "5.7.67" }},
		{Hint{Match: "5.1.8, 5.7.501–503, 5.7.511",
			Code: 550, EnhancedCode: "5.1.8", Text: "Access denied, bad outbound sender",
			Kind: failure.Permission, Hint: hintRestricted},
			func(_ int, enh, _ string) bool {
				c, s, d, ok := splitEnhanced(enh)
				return ok && c == 5 && (s == 1 && d == 8 || s == 7 && (d >= 501 && d <= 503 || d == 511))
			}},
		{Hint{Match: "4.7.500–699",
			Code: 451, EnhancedCode: "4.7.500", Text: "Server busy. Please try again later from [1.2.3.4].",
			Kind: failure.Temporary, Hint: hintRestricted},
			func(_ int, enh, _ string) bool {
				c, s, d, ok := splitEnhanced(enh)
				return ok && c == 4 && s == 7 && d >= 500 && d <= 699
			}},
		{Hint{Match: "5.7.705, 5.7.708, 5.7.750",
			Code: 550, EnhancedCode: "5.7.705", Text: "Access denied, tenant has exceeded threshold",
			Kind: failure.Permission,
			Hint: "the whole tenant is blocked from sending: contact Microsoft support"},
			func(_ int, enh, _ string) bool {
				return enh == "5.7.705" || enh == "5.7.708" || enh == "5.7.750"
			}},
		{Hint{Match: "4.7.0",
			Code: 451, EnhancedCode: "4.7.0", Text: "Temporary server error. Please try again later. PRX4",
			Kind: failure.Temporary,
			Hint: "a temporary server error: retry later"},
			func(_ int, enh, _ string) bool { return enh == "4.7.0" }},
		{Hint{Match: "4.2.0, or \"MapiExceptionLogonFailed\"",
			Code: 430, EnhancedCode: "4.2.0", Text: "STOREDRV.Submit; mailbox database offline; MapiExceptionLogonFailed",
			Kind: failure.Temporary,
			Hint: "the app's service principal has no right on this mailbox: run Add-MailboxPermission -Identity <mailbox> -User <service principal> -AccessRights FullAccess"},
			func(_ int, enh, text string) bool {
				return enh == "4.2.0" || containsFold(text, "MapiExceptionLogonFailed")
			}},
		{Hint{Match: "5.5.127 (High Volume Email)",
			Code: 501, EnhancedCode: "5.5.127", Text: "Token will expire soon. Please use a token with a longer lifetime.",
			Kind: failure.Unavailable,
			Hint: "the token was too close to expiry: use a token with more than 10 minutes left (the token cache does this)"},
			func(_ int, enh, _ string) bool { return enh == "5.5.127" }},
		{Hint{Match: "5.5.124 (High Volume Email)",
			Code: 501, EnhancedCode: "5.5.124", Text: "Invalid XOAUTH2 auth data",
			Kind: failure.Permission,
			Hint: "the server could not use the XOAUTH2 data: check the token's audience and the mailbox name (user=)"},
			func(_ int, enh, _ string) bool { return enh == "5.5.124" }},
		{Hint{Match: "5.3.4, 5.2.3 (message too big)",
			Code: 552, EnhancedCode: "5.3.4", Text: "Message size exceeds fixed maximum message size",
			Kind: failure.BadMessage,
			Hint: "the message is larger than the server accepts (35 MB by default; base64 adds a third): send smaller attachments or ask an admin to raise the limit"},
			func(_ int, enh, _ string) bool { return enh == "5.3.4" || enh == "5.2.3" }},

		// The per-class defaults.
		{Hint{Match: "421 (any other)", Default: true,
			Code: 421, EnhancedCode: "4.3.2", Text: "Service not available, closing transmission channel",
			Kind: failure.Temporary,
			Hint: "the server is closing the connection (a short outage, maintenance or overload): try again later"},
			func(code int, _, _ string) bool { return code == 421 }},
		{Hint{Match: "any other 4xx", Default: true,
			Code: 450, EnhancedCode: "4.2.1", Text: "Mailbox temporarily unavailable",
			Kind: failure.Temporary,
			Hint: "the server refused for now: try again later; if it goes on, the reply text says why"},
			func(code int, _, _ string) bool { return code >= 400 && code < 500 }},
		{Hint{Match: "535 (any other)", Default: true,
			Code: 535, EnhancedCode: "5.7.8", Text: "Error: authentication failed",
			Kind: failure.Permission,
			Hint: "the server refused the credentials: check the token's audience/scope (Exchange Online, not Graph), that the server takes Entra ID tokens over XOAUTH2, and that the token may send as the mailbox"},
			func(code int, _, _ string) bool { return code == 535 }},
		{Hint{Match: "any other 5.7.x", Default: true,
			Code: 550, EnhancedCode: "5.7.1", Text: "Delivery not authorized, message refused",
			Kind: failure.Permission,
			Hint: "the server refused permission: check the mailbox's right to send (SMTP AUTH on, SendAs for the From address) and the tenant's policies; the reply text says which"},
			func(_ int, enh, _ string) bool { return strings.HasPrefix(enh, "5.7.") }},
		{Hint{Match: "any other 5.1.x", Default: true,
			Code: 550, EnhancedCode: "5.1.10", Text: "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
			Kind: failure.BadAddress,
			Hint: "the server refused an address: check its spelling and that the mailbox and domain exist"},
			func(_ int, enh, _ string) bool { return strings.HasPrefix(enh, "5.1.") }},
		{Hint{Match: "any other 5.6.x (message content)", Default: true,
			Code: 554, EnhancedCode: "5.6.0", Text: "Corrupt message content",
			Kind: failure.BadMessage,
			Hint: "the server refused the message's content or format: check its headers and encoding; sending it again unchanged fails again"},
			func(_ int, enh, _ string) bool { return strings.HasPrefix(enh, "5.6.") }},
		{Hint{Match: "any other 5xx", Default: true,
			Code: 554, EnhancedCode: "5.4.0", Text: "Transaction failed",
			Kind: failure.Unavailable,
			Hint: "the server refused for good: the reply text says why; sending again unchanged fails again"},
			func(code int, _, _ string) bool { return code >= 500 && code < 600 }},
		{Hint{Match: "any other reply code", Default: true,
			Code: 612, Text: "unexpected",
			Kind: failure.Unavailable,
			Hint: "the server gave a reply a submission server does not give: check that smtp_host and smtp_port lead to one (for Exchange Online, leave smtp_host to the cloud setting and use port 587)"},
			func(int, string, string) bool { return true }},
	}
}

// All returns the reply table, for documentation and tests: the specific
// rows first, then the per-class defaults, in the order they are tried.
// The rows are copies; changing them changes nothing.
func All() []Hint {
	rs := rules()
	out := make([]Hint, len(rs))
	for i, r := range rs {
		out[i] = r.Hint
	}
	return out
}

// For picks the row for a server reply; text is the reply text after the
// codes. Every reply has one.
func For(code int, enh, text string) Hint {
	rs := rules()
	for _, r := range rs {
		if r.match(code, enh, text) {
			return r.Hint
		}
	}
	return rs[len(rs)-1].Hint
}

// splitEnhanced parses "c.s.d".
func splitEnhanced(enh string) (class, subject, detail int, ok bool) {
	parts := strings.Split(enh, ".")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return 0, 0, 0, false
		}
		n[i] = v
	}
	return n[0], n[1], n[2], true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
