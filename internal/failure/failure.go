// Package failure is the one vocabulary of failure that m365send's
// packages speak. Every error that a caller may act on carries a Kind
// (what the failure calls for: fix the configuration, sign in again, try
// later, ...) and a hint (one line saying what to do, written in terms of
// the library, not of a command's flags).
//
// The packages that meet a failure classify it, because only they know
// what a reply or an error code means; the command line maps a Kind to an
// exit status in one table and may add advice of its own per Kind. This
// package is a leaf: it imports nothing of m365send.
package failure

import (
	"context"
	"errors"
)

// Kind says what a failure calls for. The zero value is Internal.
type Kind int

// The kinds of failure, from the caller's point of view.
const (
	// Internal is a failure nobody classified: a bug, or something the
	// code did not foresee.
	Internal Kind = iota
	// Usage is a mistake in how a command or function was called.
	Usage
	// BadMessage is a message that cannot or must not be sent as it is
	// (headers, encoding, size); sending it again unchanged fails again.
	BadMessage
	// BadAddress is an address that is malformed, or that the server
	// refused as unknown.
	BadAddress
	// Config is a configuration that cannot work: a wrong value, a file it
	// names that is missing or unusable, a credential Entra ID refused.
	// Fixing it is a configuration change.
	Config
	// SignIn means a person must sign in (again) before mail can go.
	SignIn
	// Permission means Microsoft refused permission: consent, mailbox
	// rights, SendAs, a policy.
	Permission
	// Temporary is worth trying again later unchanged: a 4xx reply, a
	// network failure, throttling, a timeout.
	Temporary
	// Unavailable is a permanent refusal by the service that is none of
	// the above.
	Unavailable
	// Quota means a sending quota was reached; it clears by itself.
	Quota
)

// Kinds lists every Kind, in declaration order.
func Kinds() []Kind {
	return []Kind{Internal, Usage, BadMessage, BadAddress, Config, SignIn, Permission, Temporary, Unavailable, Quota}
}

// String returns the kind's name as it appears in logs and JSON.
func (k Kind) String() string {
	switch k {
	case Usage:
		return "usage"
	case BadMessage:
		return "bad-message"
	case BadAddress:
		return "bad-address"
	case Config:
		return "config"
	case SignIn:
		return "sign-in"
	case Permission:
		return "permission"
	case Temporary:
		return "temporary"
	case Unavailable:
		return "unavailable"
	case Quota:
		return "quota"
	}
	return "internal"
}

// Error is implemented by errors that know their kind and hint. Hint
// returns "" when there is nothing better to say than the error itself.
type Error interface {
	error
	Kind() Kind
	Hint() string
}

type kinded interface{ Kind() Kind }

type hinted interface{ Hint() string }

// KindOf returns the kind of the first error along err's chain that has
// one. An error without one is Temporary when it is a cancellation or a
// deadline (the work may be done again), Internal otherwise; nil is
// Internal too, but callers test for nil first.
func KindOf(err error) Kind {
	var k kinded
	if errors.As(err, &k) {
		return k.Kind()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Temporary
	}
	return Internal
}

// HintOf returns the first non-empty hint along err's chain, or "".
func HintOf(err error) string {
	for _, e := range chain(err) {
		if h, ok := e.(hinted); ok {
			if s := h.Hint(); s != "" {
				return s
			}
		}
	}
	return ""
}

// chain lists err and everything it wraps, depth first.
func chain(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		for e != nil {
			out = append(out, e)
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, x := range u.Unwrap() {
					walk(x)
				}
				return
			case interface{ Unwrap() error }:
				e = u.Unwrap()
			default:
				return
			}
		}
	}
	walk(err)
	return out
}

// New returns an error with the given kind, text and hint.
func New(kind Kind, msg, hint string) error {
	return &classified{kind: kind, msg: msg, hint: hint}
}

// Wrap returns err with the given kind and hint; its text is err's text
// and it unwraps to err. Wrap(k, nil, h) is nil.
func Wrap(kind Kind, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &classified{kind: kind, hint: hint, err: err}
}

type classified struct {
	kind Kind
	msg  string
	hint string
	err  error
}

func (e *classified) Error() string {
	if e.msg != "" || e.err == nil {
		return e.msg
	}
	return e.err.Error()
}

func (e *classified) Unwrap() error { return e.err }
func (e *classified) Kind() Kind    { return e.kind }
func (e *classified) Hint() string  { return e.hint }
