package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// Exit codes, after sysexits(3), as sendmail and msmtp use them.
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE
	exitDataErr     = 65 // EX_DATAERR: bad message or address
	exitUnavailable = 69 // EX_UNAVAILABLE: permanent SMTP failure
	exitSoftware    = 70 // EX_SOFTWARE: internal error
	exitTempFail    = 75 // EX_TEMPFAIL: retry later
	exitNoPerm      = 77 // EX_NOPERM: Microsoft denied permission
	exitConfig      = 78 // EX_CONFIG
)

// exitError is a failure the command itself diagnosed, with its exit code.
type exitError struct {
	Code int
	Msg  string
	Hint string
	Err  error
}

func (e *exitError) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *exitError) Unwrap() error { return e.Err }

// usageError is a command-line mistake: an unknown command or flag, a
// missing or extra argument, flags that do not go together.
type usageError struct {
	Msg  string
	Hint string
}

func (e *usageError) Error() string { return e.Msg }

// exitCodeFor maps an error from config, token or sender to a sysexits
// code:
//
//	nil                                                  0
//	usage errors (flags, arguments)                      64
//	a bad message or address found before sending        65
//	permanent SMTP failure (5xx other than below, a      69
//	  recipient or message the server refuses included)
//	anything unexpected                                  70
//	temporary: 4xx, network, throttling, Entra ID 5xx,   75
//	  interrupted or timed out
//	Microsoft refused permission: SMTP 5.7.x (530, 535,  77
//	  550 5.7.60 ...), 554 5.2.252 SendAsDenied, AADSTS
//	  consent/Conditional Access/MFA, and "sign-in
//	  required" (run m365send login)
//	configuration: config errors, AADSTS wrong secret/   78
//	  certificate/client ID/tenant/scope, invalid_client,
//	  a token cache that is not private or cannot be made
func exitCodeFor(err error) int {
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return xe.Code
	}
	var ue *usageError
	var sue *sendmail.UsageError
	if errors.As(err, &ue) || errors.As(err, &sue) {
		return exitUsage
	}
	var sme *sendmail.MessageError
	if errors.As(err, &sme) || errors.Is(err, sender.ErrInvalidMessage) {
		return exitDataErr
	}
	var ce *config.Error
	var cce *token.CacheError
	if errors.As(err, &ce) || errors.As(err, &cce) {
		return exitConfig
	}
	if errors.Is(err, token.ErrLoginRequired) {
		return exitNoPerm
	}
	var se *sender.Error
	if errors.As(err, &se) && se.Stage != sender.StageToken {
		return senderExitCode(se)
	}
	var te *token.Error
	if errors.As(err, &te) {
		return tokenExitCode(te)
	}
	if se != nil {
		return senderExitCode(se)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return exitTempFail
	}
	return exitSoftware
}

// senderExitCode classifies an SMTP or network failure.
func senderExitCode(e *sender.Error) int {
	ec := e.EnhancedCode
	switch {
	case e.Stage == sender.StageConfig:
		return exitConfig
	case e.Temporary, e.Code >= 400 && e.Code < 500:
		return exitTempFail
	case strings.HasPrefix(ec, "5.7.") || ec == "5.1.8" || ec == "5.2.252" || e.Code == 530:
		return exitNoPerm
	case ec == "5.2.0" && strings.Contains(e.Text, "SubmissionQuotaExceeded"):
		// Daily quota: permanent code, but it clears by itself.
		return exitTempFail
	case e.Code >= 500:
		return exitUnavailable
	case e.Code == 0:
		// A network failure the sender did not call temporary.
		return exitTempFail
	}
	return exitSoftware
}

// tokenExitCode maps the token package's classification of an Entra ID
// failure to an exit code.
func tokenExitCode(e *token.Error) int {
	switch e.Kind() {
	case failure.Temporary:
		return exitTempFail
	case failure.Config:
		return exitConfig
	case failure.Permission, failure.SignIn:
		return exitNoPerm
	}
	return exitUnavailable
}

// hintFor returns the first hint found along err's chain.
func hintFor(err error) string {
	// Why a sign-in is required beats the sender's or token's own hint.
	var fe *flowInferredError
	if errors.As(err, &fe) {
		return flowInferredHint
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch v := e.(type) {
		case *exitError:
			if v.Hint != "" {
				return v.Hint
			}
		case *usageError:
			if v.Hint != "" {
				return v.Hint
			}
		case *config.Error:
			if v.Hint() != "" {
				return v.Hint()
			}
		case *token.Error:
			if h := v.Hint(); h != "" {
				if v.Kind() == failure.SignIn {
					h += "; run `m365send login` (with the same --profile)"
				}
				return h
			}
		case *token.CacheError:
			if h := v.Hint(); h != "" {
				if !errors.Is(v, token.ErrInsecureCache) {
					h += ", such as one set with M365SEND_CACHE_DIR"
				}
				return h
			}
		case *sender.Error:
			// A token failure's hint comes from the token error below,
			// with the command's advice added there.
			if h := v.Hint(); h != "" && (v.Stage != sender.StageToken || failure.HintOf(v.Err) == "") {
				return h
			}
		case *sendmail.UsageError:
			if v.Hint != "" {
				return v.Hint
			}
		case *sendmail.MessageError:
			if v.Hint != "" {
				return v.Hint
			}
		}
	}
	switch {
	case errors.Is(err, token.ErrLoginRequired):
		return "sign in once with `m365send login` (with the same --profile)"
	case errors.Is(err, sender.ErrInvalidMessage):
		return "nothing was sent; correct the message or address"
	case errors.Is(err, context.Canceled):
		return "interrupted; nothing more was sent"
	}
	return ""
}

// oneLine collapses err's text onto one line (Entra ID descriptions hold
// line breaks).
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.Join(strings.Fields(s), " ")
}

// messageFor is the one-line text for err. A token failure that the sender
// met while connecting is told as the token failure itself: the SMTP host
// and stage in front of it would only mislead. A token cache that cannot
// be used is told as such, whoever met it.
func messageFor(err error) string {
	var cce *token.CacheError
	if errors.As(err, &cce) {
		return oneLine(cce.Error())
	}
	var se *sender.Error
	if errors.As(err, &se) && se.Stage == sender.StageToken {
		var te *token.Error
		switch {
		case errors.As(err, &te):
			return oneLine(te.Error())
		case errors.Is(err, token.ErrLoginRequired):
			return token.ErrLoginRequired.Error()
		}
	}
	return oneLine(err.Error())
}

// printError writes err as one line saying what happened and, where a hint
// is known, a second line saying what to do.
func printError(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: %s\n", prog, messageFor(err))
	if h := hintFor(err); h != "" {
		fmt.Fprintf(w, "  hint: %s\n", oneLine(h))
	}
}
