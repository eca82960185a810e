package main

import (
	"io"

	"github.com/m365send/m365send/internal/failtext"
	"github.com/m365send/m365send/internal/failure"
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

// exitCodes is the one table from a failure's kind to the exit status.
// The packages that meet a failure classify it (internal/failure); the
// command only maps the kind.
func exitCodes() map[failure.Kind]int {
	return map[failure.Kind]int{
		failure.Usage:       exitUsage,
		failure.BadMessage:  exitDataErr,
		failure.BadAddress:  exitDataErr,
		failure.Unavailable: exitUnavailable,
		failure.Internal:    exitSoftware,
		// Quota clears by itself: a caller that retries later succeeds.
		failure.Temporary:  exitTempFail,
		failure.Quota:      exitTempFail,
		failure.Permission: exitNoPerm,
		failure.SignIn:     exitNoPerm,
		failure.Config:     exitConfig,
	}
}

// exitCodeFor is the exit status for err: 0 for nil, else that of its
// kind.
func exitCodeFor(err error) int {
	if err == nil {
		return exitOK
	}
	return exitCodeOf(failure.KindOf(err))
}

// exitCodeOf is the exit status for a failure of kind k.
func exitCodeOf(k failure.Kind) int {
	if code, ok := exitCodes()[k]; ok {
		return code
	}
	return exitSoftware
}

// worstCode is the worse of two exit statuses, for a command that sends
// many messages (send --batch): any failure is worse than success, and a
// failure that only needs time (75) is the least bad; then come the
// message's own fault (65), the service's refusal (69), Microsoft's
// permission or sign-in (77), the configuration (78) and an internal
// error (70), each of which needs a person more than the one before.
func worstCode(a, b int) int {
	rank := func(code int) int {
		for i, c := range []int{exitOK, exitTempFail, exitDataErr, exitUsage, exitUnavailable, exitNoPerm, exitConfig, exitSoftware} {
			if c == code {
				return i
			}
		}
		return 8 // unknown: the worst
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// exitError is a failure the command itself diagnosed.
type exitError struct {
	kind failure.Kind
	msg  string
	hint string
	err  error
}

func (e *exitError) Error() string {
	if e.msg == "" && e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

func (e *exitError) Unwrap() error      { return e.err }
func (e *exitError) Kind() failure.Kind { return e.kind }
func (e *exitError) Hint() string       { return e.hint }

// usageError is a command-line mistake: an unknown command or flag, a
// missing or extra argument, flags that do not go together.
type usageError struct {
	msg  string
	hint string
}

func (e *usageError) Error() string      { return e.msg }
func (e *usageError) Kind() failure.Kind { return failure.Usage }
func (e *usageError) Hint() string       { return e.hint }

// reporter tells a person about a failure (failtext.Teller: one line
// saying what happened, one saying what to do) and warns.
type reporter struct {
	// prog starts every line: "m365send", or "sendmail" for the
	// sendmail interface, whose callers know no m365send flags.
	prog string
	// profile is the --profile given, repeated in advice ("" when none).
	profile string
	// doctor is set when doctor reports: advice to run doctor is left out.
	doctor bool
}

func (r reporter) teller() failtext.Teller {
	return failtext.Teller{Prog: r.prog, Profile: r.profile, Doctor: r.doctor}
}

// hint is the one-line hint for err (failtext.Teller.Hint).
func (r reporter) hint(err error) string { return r.teller().Hint(err) }

// advice is the command's advice for err, of kind k (failtext.Teller.Advice).
func (r reporter) advice(k failure.Kind, err error) string { return r.teller().Advice(k, err) }

// print writes err and its hint (failtext.Teller.Print).
func (r reporter) print(w io.Writer, err error) { r.teller().Print(w, err) }

// warn writes a warning in the shape of an error: "m365send: warning: ...".
func (r reporter) warn(w io.Writer, msg string) { r.teller().Warn(w, msg) }

// messageFor is the one-line text for err (failtext.Message).
func messageFor(err error) string { return failtext.Message(err) }
