// Package failtext words a failure for a person, as every command of
// m365send prints it: one line, safe for a terminal, and the failure's own
// hint followed by the command's advice for its kind (Teller).
package failtext

import (
	"context"
	"errors"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// CanceledHint is the hint for an interrupted command.
const CanceledHint = "interrupted; nothing more was sent"

// Hint is the failure's own hint (failure.HintOf), or a word for an
// interruption.
func Hint(err error) string {
	if h := failure.HintOf(err); h != "" {
		return h
	}
	if errors.Is(err, context.Canceled) {
		return CanceledHint
	}
	return ""
}

// Message is the one-line text for err, safe for a terminal. A token
// failure that the sender met while connecting is told as the token
// failure itself: the SMTP host and stage in front of it would only
// mislead. A token cache that cannot be used is told as such, whoever met
// it.
func Message(err error) string {
	var cce *token.CacheError
	if errors.As(err, &cce) {
		return safetext.OneLine(cce.Error())
	}
	var se *sender.Error
	if errors.As(err, &se) && se.Stage == sender.StageToken {
		var te *token.Error
		switch {
		case errors.As(err, &te):
			return safetext.OneLine(te.Error())
		case errors.Is(err, token.ErrLoginRequired):
			return safetext.OneLine(token.ErrLoginRequired.Error())
		}
	}
	return safetext.OneLine(err.Error())
}
