package config

import "github.com/m365send/m365send/internal/configerr"

// ErrNoFile is wrapped by an *Error when the configuration file named
// (LoadOptions.File, $M365SEND_CONFIG) cannot be read, or when none was
// found and the environment lacks a setting: a command adds how its own
// callers name the file.
var ErrNoFile = configerr.ErrNoFile

// ErrNoProfile is wrapped by an *Error when the profile used was picked
// for want of a selection and is not in the file: a command adds how its
// own callers choose a profile.
var ErrNoProfile = configerr.ErrNoProfile

// Error is a configuration problem, naming the file, line and key where
// known, and what to do (Advice, its Hint); its kind is failure.Config.
type Error = configerr.Error
