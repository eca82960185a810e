package config

import (
	"github.com/m365send/m365send/internal/configenv"
	"github.com/m365send/m365send/internal/configkey"
)

// Type is the TOML type of a profile key's value, as the docs name it.
type Type = configkey.Type

// The types a profile key can have.
const (
	TypeString  = configkey.TypeString
	TypeInteger = configkey.TypeInteger
	TypeArgv    = configkey.TypeArgv
	TypeBool    = configkey.TypeBool
)

// Key describes one profile key: its name, environment variable, type,
// default and one-line doc. The one table of keys is internal/configkey's;
// Load checks each key's value in build.go.
type Key = configkey.Key

// Keys returns every profile key, in the order a profile is checked and
// documented. Each call returns a new slice.
func Keys() []Key { return configkey.All() }

// Variables lists every environment variable Load reads values from that
// a user sets for m365send: the M365SEND_* ones (M365SEND_CONFIG and
// M365SEND_PROFILE first) and azidentity's AZURE_* ones, in Keys' order.
func Variables() []string { return configkey.Variables() }

// CheckEnviron is the check Load and LoadGlobals make of an Environ: an
// unknown M365SEND_* variable is an *Error. The sendmail interface runs it
// itself and only warns, so that a typo in an unrelated variable does not
// stop cron's mail.
func CheckEnviron(environ []string) error { return configenv.Check(environ) }
