package main

import (
	"context"
	"errors"
	"io"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// session is a loaded profile with the token source and sender built from
// it: what send, sendmail, token, login and doctor all start from.
type session struct {
	Profile *config.Profile
	Tokens  *token.Source
	Sender  *sender.Sender
}

// sessionOptions selects and adjusts the profile.
type sessionOptions struct {
	ConfigFile string            // --config / -C
	Profile    string            // --profile
	Overrides  map[string]string // flag values by config key
	Trace      io.Writer         // -v: redacted SMTP trace, or nil
}

// newSession loads the profile (flag > environment > file > default),
// resolves its secret and builds the token source (with the profile's
// cache file and CA) and the sender. Filled in by the CLI issue (#4).
func newSession(ctx context.Context, stdio IO, opts sessionOptions) (*session, error) {
	return nil, errors.New("newSession: not implemented yet")
}
