package graph

import (
	"fmt"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

// Operations, for Error.Op and ErrorHint.Op.
const (
	OpToken   = "token"        // getting an access token
	OpSend    = "sendMail"     // POST /users/{mailbox}/sendMail
	OpDraft   = "create draft" // POST /users/{mailbox}/messages (large messages)
	OpAttach  = "attach"       // an attachment of a large message
	OpUpload  = "upload"       // PUT to an upload session's URL
	OpSendDft = "send draft"   // POST /users/{mailbox}/messages/{id}/send
	OpPrepare = "prepare"      // the message itself, before any request
)

// Error is a failure to send over Microsoft Graph, with what Graph said.
// Kind and Hint follow the row of ErrorHints that matches Status, Code
// and Op; cmd maps the kind to an exit status.
type Error struct {
	// Mailbox is the mailbox the request acted on.
	Mailbox string
	// Op is the step that failed (OpSend, OpDraft, ...).
	Op string
	// Status is the HTTP status, or 0 for a network or local failure.
	Status int
	// Code is Graph's error.code, such as "ErrorAccessDenied", or "".
	Code string
	// Message is Graph's error.message, or a description of the failure
	// (tokens never appear here).
	Message string
	// RetryAfter is what Graph's Retry-After header asked for, or 0.
	RetryAfter time.Duration
	// Err is the underlying error, or nil; Unwrap returns it.
	Err error
}

var _ failure.Error = (*Error)(nil)

// Error returns one line: "graph: mailbox: op: 403 ErrorAccessDenied:
// message". The hint is not included.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Mailbox != "" {
		b.WriteString(e.Mailbox + ": ")
	}
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
	}
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Err != nil:
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Kind says what the failure calls for (see ErrorHints). A token failure
// keeps the token error's own kind; a network failure is Temporary.
func (e *Error) Kind() failure.Kind {
	if e.Status == 0 {
		if e.Err != nil {
			if k := failure.KindOf(e.Err); k != failure.Internal || e.Op == OpToken {
				return k
			}
		}
		if e.Op == OpPrepare {
			return failure.BadMessage
		}
		return failure.Temporary
	}
	return lookup(e.Status, e.Code, e.Op).Kind
}

// Hint returns one line saying what to check or do, or "".
func (e *Error) Hint() string {
	if e.Status == 0 {
		return failure.HintOf(e.Err)
	}
	return lookup(e.Status, e.Code, e.Op).Hint
}

// temporary reports whether the request is worth trying again.
func (e *Error) temporary() bool { return e.Kind() == failure.Temporary }

// ErrorHint is one row of the table that gives a Graph error its kind of
// failure and a one-line hint; the rows follow docs/microsoft.md
// ("Microsoft Graph"). Rows are tried in order; the first whose Status,
// Code and Op match wins (an empty Code or Op matches any); the last rows
// are per-class defaults.
type ErrorHint struct {
	// Status is the HTTP status Graph answers with.
	Status int
	// Code is Graph's error.code ("" for a per-status default).
	Code string
	// Op restricts the row to one step ("" for any).
	Op string
	// Message is an example error.message as Graph sends it.
	Message string
	// Kind is the kind of failure it means.
	Kind failure.Kind
	// Hint is one line saying what to check or do.
	Hint string
}

// Hints shared by several rows.
const (
	hintMailSend  = "grant the app the Microsoft Graph application permission Mail.Send with admin consent (or the Exchange RBAC role \"Application Mail.Send\" scoped to this mailbox), or Mail.Send delegated for a signed-in person; rights can take up to an hour (two under RBAC) to apply"
	hintReadWrite = "messages over Graph's 4 MB request limit go as a draft with an upload session, which needs Mail.ReadWrite as well: grant the Microsoft Graph application permission Mail.ReadWrite with admin consent (or delegated Mail.ReadWrite), or send smaller messages"
	hintThrottled = "Graph is throttling this mailbox (at most 4 requests at once, 10,000 per 10 minutes): send again later, or spread the load over time"
)

// ErrorHints returns the table, in the order its rows are tried. Each call
// returns a new slice the caller may change.
func ErrorHints() []ErrorHint {
	return []ErrorHint{
		{Status: 403, Code: "ErrorAccessDenied", Op: OpDraft, Message: "Access is denied. Check credentials and try again.",
			Kind: failure.Permission, Hint: hintReadWrite},
		{Status: 403, Code: "ErrorAccessDenied", Op: OpAttach, Message: "Access is denied. Check credentials and try again.",
			Kind: failure.Permission, Hint: hintReadWrite},
		{Status: 403, Code: "ErrorAccessDenied", Message: "Access is denied. Check credentials and try again.",
			Kind: failure.Permission, Hint: hintMailSend},
		{Status: 403, Code: "ErrorSendAsDenied", Message: "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.",
			Kind: failure.Permission, Hint: "the mailbox may not send as this From address: grant it SendAs (Add-RecipientPermission <from> -Trustee <mailbox> -AccessRights SendAs) or send From the mailbox itself"},
		{Status: 403, Code: "ErrorMessageSubmissionBlocked", Message: "Your account has been temporarily suspended due to unusual activity.",
			Kind: failure.Permission, Hint: "the mailbox is blocked from sending (a suspected spammer or compromised account): an admin must release it (Microsoft Defender portal, Restricted entities) after securing the account"},
		{Status: 403, Code: "ErrorQuotaExceeded", Message: "The process failed to get the correct properties.",
			Kind: failure.Quota, Hint: "the mailbox is full (Graph keeps a copy in Sent Items): free space in it or raise its quota, then send again"},
		{Status: 404, Code: "MailboxNotEnabledForRESTAPI", Message: "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
			Kind: failure.Config, Hint: "the mailbox is not an Exchange Online mailbox Graph can use (on-premises, inactive or unlicensed): send over SMTP (transport = \"smtp\") or use a licensed cloud mailbox"},
		{Status: 404, Code: "ErrorInvalidUser", Message: "The requested user 'alerts@contoso.com' is invalid.",
			Kind: failure.Config, Hint: "no such mailbox in this tenant: check mailbox (the UPN or primary address) and the tenant"},
		{Status: 404, Code: "ResourceNotFound", Message: "Resource could not be discovered.",
			Kind: failure.Config, Hint: "no such mailbox in this tenant: check mailbox (the UPN or primary address) and the tenant"},
		{Status: 400, Code: "ErrorInvalidRecipients", Message: "At least one recipient is not valid., Recipient 'nobody@' is not resolved.",
			Kind: failure.BadAddress, Hint: "a recipient address is not valid: check the To, Cc and Bcc addresses"},
		{Status: 400, Code: "ErrorMessageSizeExceeded", Message: "The message exceeds the maximum supported size.",
			Kind: failure.BadMessage, Hint: "the message is larger than the mailbox may send (35 MB by default): send smaller attachments, or have an admin raise MaxSendSize"},
		{Status: 413, Code: "", Message: "The request is too large.",
			Kind: failure.BadMessage, Hint: "the request was over Graph's 4 MB limit: report it as a bug (m365send sends larger messages as a draft)"},
		{Status: 400, Code: "ErrorMimeContentInvalidBase64String", Message: "Invalid base64 string for MIME content.",
			Kind: failure.Internal, Hint: "report it as a bug: m365send sent MIME that Graph could not decode"},
		{Status: 400, Code: "ErrorMimeContentInvalid", Message: "The MIME content is invalid.",
			Kind: failure.BadMessage, Hint: "Graph could not parse the message as MIME: check its headers and structure (--dry-run shows it)"},
		{Status: 401, Code: "InvalidAuthenticationToken", Message: "Access token validation failure. Invalid audience.",
			Kind: failure.Permission, Hint: "Graph refused the token: it must be for Microsoft Graph (scope https://graph.microsoft.com/.default, or delegated Mail.Send) in this cloud; sign in again if it is a person's"},
		{Status: 429, Code: "", Message: "Application is over its MailboxConcurrency limit.",
			Kind: failure.Temporary, Hint: hintThrottled},
		{Status: 503, Code: "", Message: "Service Unavailable",
			Kind: failure.Temporary, Hint: "Microsoft Graph is unavailable for now: send again later"},
		{Status: 500, Code: "", Message: "Internal Server Error",
			Kind: failure.Temporary, Hint: "Microsoft Graph failed for now: send again later"},
		{Status: 400, Code: "", Message: "Bad Request",
			Kind: failure.BadMessage, Hint: "Graph refused the message: check its addresses and headers"},
		{Status: 401, Code: "", Message: "Unauthorized",
			Kind: failure.Permission, Hint: "Graph refused the token: check that the app has Mail.Send for Microsoft Graph and that the tenant and cloud are right"},
		{Status: 403, Code: "", Message: "Forbidden",
			Kind: failure.Permission, Hint: hintMailSend},
		{Status: 404, Code: "", Message: "Not Found",
			Kind: failure.Config, Hint: "Graph does not know this mailbox: check mailbox and the tenant"},
	}
}

// lookup returns the row for an answer: the first whose fields match, a
// per-class default, or Unavailable for anything else.
func lookup(status int, code, op string) ErrorHint {
	rows := ErrorHints()
	for _, r := range rows {
		if r.Status == status && (r.Code == "" || strings.EqualFold(r.Code, code)) && (r.Op == "" || r.Op == op) {
			return r
		}
	}
	switch {
	case status >= 500:
		return ErrorHint{Kind: failure.Temporary, Hint: "Microsoft Graph failed for now: send again later"}
	case status == 408:
		return ErrorHint{Kind: failure.Temporary}
	}
	return ErrorHint{Kind: failure.Unavailable}
}
