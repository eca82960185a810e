package sender

import (
	"strconv"
	"strings"
)

// A hintRule matches a server reply to one line saying what to do. The
// rules follow docs/microsoft.md's "Replies and what they mean", one per row, in an
// order where the more specific rule comes first.
type hintRule struct {
	match func(code int, enh, text string) bool
	hint  string
}

// Hints shared by several rows.
const (
	hintSendAs = "the mailbox may not send as this From address: grant it SendAs (Add-RecipientPermission <from> -Trustee <mailbox> -AccessRights SendAs) or send From the mailbox itself"
)

// hintRules returns the rules in the order they are tried.
func hintRules() []hintRule {
	return []hintRule{
		{ // 535 5.7.139 ... SmtpClientAuthentication is disabled
			match: func(_ int, enh, text string) bool {
				return enh == "5.7.139" && containsFold(text, "SmtpClientAuthentication is disabled")
			},
			hint: "SMTP AUTH is disabled: run Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false (or Set-TransportConfig -SmtpClientAuthenticationDisabled $false for the tenant)",
		},
		{ // 535 5.7.139 ... security defaults / did not meet the criteria
			match: func(_ int, enh, _ string) bool { return enh == "5.7.139" },
			hint:  "security defaults or a Conditional Access policy blocks this sign-in: exclude the account or app from the policy, or turn security defaults off",
		},
		{ // 535 5.7.3 Authentication unsuccessful
			match: func(_ int, enh, _ string) bool { return enh == "5.7.3" },
			hint:  "the token was refused: check its audience/scope (outlook.office365.com, not Graph), the Exchange service principal (New-ServicePrincipal with the Enterprise application's object ID) and the mailbox permission (Add-MailboxPermission); changes can take up to an hour to apply",
		},
		{ // 530 5.7.57 not authenticated
			match: func(code int, enh, _ string) bool { return enh == "5.7.57" || code == 530 },
			hint:  "the server got MAIL FROM without a successful AUTH: authenticate with XOAUTH2 first",
		},
		{ // 550 5.7.60 send as
			match: func(_ int, enh, _ string) bool { return enh == "5.7.60" },
			hint:  hintSendAs,
		},
		{ // 554 5.2.252 SendAsDenied (older: 554 5.2.0 ... SendAsDeniedException)
			match: func(_ int, enh, text string) bool {
				return enh == "5.2.252" || containsFold(text, "SendAsDenied")
			},
			hint: hintSendAs,
		},
		{ // 432 4.3.2 concurrency (also "STOREDRV.ClientSubmit; sender thread limit exceeded")
			match: func(_ int, enh, _ string) bool { return enh == "4.3.2" },
			hint:  "too many connections for this mailbox at once (Exchange allows 3): retry later with backoff, or send with fewer parallel processes",
		},
		{ // 554 5.2.0 ...SubmissionQuotaExceededException
			match: func(_ int, _ string, text string) bool {
				return containsFold(text, "SubmissionQuotaExceeded")
			},
			hint: "the mailbox reached its daily sending quota (10,000 recipients): wait up to 24 hours, or spread the mail over several mailboxes",
		},
		{ // 554 5.2.2 mailbox full ... QuotaExceededException
			match: func(_ int, enh, text string) bool {
				return enh == "5.2.2" || containsFold(text, "QuotaExceededException")
			},
			hint: "the sending mailbox is full (a copy goes to Sent Items): free space in the mailbox or raise its quota",
		},
		{ // 550 5.7.30 Basic authentication is not supported
			match: func(_ int, enh, _ string) bool { return enh == "5.7.30" },
			hint:  "Basic authentication is retired for client submission: use OAuth (XOAUTH2), as m365send does; check that nothing rewrites the AUTH command",
		},
		{ // 421 4.7.66 / 5.7.67 TLS below 1.2
			match: func(_ int, enh, _ string) bool { return enh == "4.7.66" || enh == "5.7.67" },
			hint:  "the connection used TLS below 1.2: Office 365 requires TLS 1.2 or later; check for a proxy that downgrades TLS",
		},
		{ // 5.1.8, 5.7.501–503, 5.7.511, 4.7.500–699: restricted sender
			match: func(_ int, enh, _ string) bool {
				c, s, d, ok := splitEnhanced(enh)
				if !ok {
					return false
				}
				switch {
				case c == 5 && s == 1 && d == 8,
					c == 5 && s == 7 && (d >= 501 && d <= 503 || d == 511),
					c == 4 && s == 7 && d >= 500 && d <= 699:
					return true
				}
				return false
			},
			hint: "the sender is restricted as a suspected spammer or compromised account: an admin must release it (Microsoft Defender portal, Restricted entities) after securing the account",
		},
		{ // 5.7.705, 5.7.708, 5.7.750: tenant-level block
			match: func(_ int, enh, _ string) bool {
				return enh == "5.7.705" || enh == "5.7.708" || enh == "5.7.750"
			},
			hint: "the whole tenant is blocked from sending: contact Microsoft support",
		},
		{ // 451 4.7.0 Temporary server error
			match: func(_ int, enh, _ string) bool { return enh == "4.7.0" },
			hint:  "a temporary server error: retry later",
		},
		{ // 430 4.2.0 STOREDRV.Submit ... MapiExceptionLogonFailed
			match: func(_ int, enh, text string) bool {
				return enh == "4.2.0" || containsFold(text, "MapiExceptionLogonFailed")
			},
			hint: "the app's service principal has no right on this mailbox: run Add-MailboxPermission -Identity <mailbox> -User <service principal> -AccessRights FullAccess",
		},
		{ // 501 5.5.127 Token will expire soon (HVE)
			match: func(_ int, enh, _ string) bool { return enh == "5.5.127" },
			hint:  "the token was too close to expiry: use a token with more than 10 minutes left (the token cache does this)",
		},
		{ // 501 5.5.124 Invalid XOAUTH2 auth data (HVE)
			match: func(_ int, enh, _ string) bool { return enh == "5.5.124" },
			hint:  "the server could not use the XOAUTH2 data: check the token's audience and the mailbox name (user=)",
		},
		{ // 552 5.3.4 size
			match: func(_ int, enh, _ string) bool { return enh == "5.3.4" },
			hint:  "the message is larger than the server accepts (35 MB by default; base64 adds a third): send smaller attachments or ask an admin to raise the limit",
		},
	}
}

// hintFor picks the hint for a server reply, or "".
func hintFor(e *Error) string {
	for _, r := range hintRules() {
		if r.match(e.Code, e.EnhancedCode, e.Text) {
			return r.hint
		}
	}
	return ""
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
