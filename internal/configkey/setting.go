package configkey

import (
	"fmt"
	"strconv"

	"github.com/m365send/m365send/internal/configerr"
)

// Layer is where a setting came from, lowest precedence first. Only the
// command line's --profile is a flag: no flag sets a profile key.
type Layer int

// The layers of a profile's settings.
const (
	LayerDefault Layer = iota
	LayerFile
	LayerEnv
	LayerFlag
)

// Origin is where a value came from, for error messages.
type Origin struct {
	Layer Layer
	// File and Line place a value of LayerFile ("", 0 otherwise).
	File string
	Line int
	// Key is profiles.NAME.KEY (as messages show it), the environment
	// variable, or --profile.
	Key string
}

// Where says where an origin is, as Source.From shows it.
func (o Origin) Where() string {
	switch o.Layer {
	case LayerFile:
		if o.Line > 0 {
			return o.File + ":" + strconv.Itoa(o.Line)
		}
		return o.File
	case LayerEnv:
		return "$" + o.Key
	case LayerFlag:
		return o.Key
	}
	return "default"
}

// Errorf builds a *configerr.Error located at o, with hint as its advice.
func (o Origin) Errorf(hint, format string, args ...any) *configerr.Error {
	return &configerr.Error{File: o.File, Line: o.Line, Key: o.Key, Msg: fmt.Sprintf(format, args...), Advice: hint}
}

// Setting is one value and where it came from.
type Setting struct {
	Val  string
	Argv []string // TypeArgv keys (client_secret_command) only
	From Origin
}

// Replaced is a setting a higher layer replaced: its key and where it
// was set.
type Replaced struct {
	Key  string
	From Origin
}

// Source says where one value of a loaded profile came from, for doctor
// -v and the warnings of commands run with -v. Nothing in it is a secret:
// a secret's value is shown as "(hidden)", and any value that looks like
// one only by its length.
type Source struct {
	// Key is the profile key (an All name), or "config file" or "profile"
	// for the file read and the profile chosen.
	Key string
	// Value is the value as it may be shown, or "(not set)".
	Value string
	// From is where the value came from: "FILE:LINE", "$VARIABLE",
	// "--profile" or "--config", or "default".
	From string
	// Overrides is where the setting it replaced was made ("FILE:LINE
	// (KEY)"), or "".
	Overrides string
	// Note says more (such as that the value is ignored), or "".
	Note string
}
