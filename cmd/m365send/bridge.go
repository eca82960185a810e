package main

// This file is a temporary bridge: it classifies the errors of
// internal/sendmail, which do not carry a failure.Kind and a Hint() method
// yet. When they do, the file goes, and kindOf and hintAlong become
// failure.KindOf and failure.HintOf.

import (
	"errors"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/sendmail"
)

// kindOf is failure.KindOf, bridged: the first error along err's chain
// with a kind decides.
func kindOf(err error) failure.Kind {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if k, ok := e.(interface{ Kind() failure.Kind }); ok {
			return k.Kind()
		}
		switch e.(type) {
		case *sendmail.UsageError:
			return failure.Usage
		case *sendmail.MessageError:
			return failure.BadMessage
		}
	}
	return failure.KindOf(err)
}

// hintAlong is failure.HintOf, bridged: the first non-empty hint along
// err's chain.
func hintAlong(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		h := ""
		switch v := e.(type) {
		case interface{ Hint() string }:
			h = v.Hint()
		case *sendmail.UsageError:
			h = v.Hint
		case *sendmail.MessageError:
			h = v.Hint
		}
		if h != "" {
			return h
		}
	}
	return failure.HintOf(err)
}
