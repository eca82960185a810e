// Package configenv is the environment's side of a profile: the settings
// its variables make (azidentity's AZURE_* names where they overlap, else
// M365SEND_*, per internal/configkey's table), a lookup over an
// os.Environ-shaped list, and the check that refuses an M365SEND_*
// variable m365send does not read (a typo would otherwise be ignored).
package configenv

import (
	"slices"
	"strings"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/suggest"
)

// Layer is the environment's settings: each key's variable that is set
// and not empty, in configkey.All's order, and their keys in that order.
func Layer(env func(string) string) (map[string]configkey.Setting, []string) {
	set := map[string]configkey.Setting{}
	var keys []string
	for _, k := range configkey.All() {
		if k.Env == "" {
			continue
		}
		if v := env(k.Env); v != "" {
			set[k.Name] = configkey.Setting{Val: v, From: configkey.Origin{Layer: configkey.LayerEnv, Key: k.Env}}
			keys = append(keys, k.Name)
		}
	}
	return set, keys
}

// Lookup looks a variable up in environ ("KEY=value" lines), the first
// one of a name winning as with os.Getenv.
func Lookup(environ []string) func(string) string {
	return func(name string) string {
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v
			}
		}
		return ""
	}
}

// azureVars are the azidentity variables the program reads.
func azureVars() []string {
	var vars []string
	for _, v := range configkey.Variables() {
		if !strings.HasPrefix(v, configkey.EnvPrefix) {
			vars = append(vars, v)
		}
	}
	return vars
}

// programVars are the M365SEND_* variables the program reads.
func programVars() []string {
	var vars []string
	for _, v := range configkey.Variables() {
		if strings.HasPrefix(v, configkey.EnvPrefix) {
			vars = append(vars, v)
		}
	}
	return vars
}

// Check refuses an M365SEND_* variable (any case) of environ that the
// program does not read, suggesting the one probably meant, as a
// *configerr.Error. Its value is never shown.
func Check(environ []string) error {
	known := programVars()
	prefix := configkey.EnvPrefix
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(prefix) || !strings.EqualFold(name[:len(prefix)], prefix) || slices.Contains(known, name) {
			continue
		}
		var guesses []string
		if g := closestVar(name, known); g != "" {
			guesses = append(guesses, g)
		}
		if g := closestVar(name, azureVars()); g != "" {
			guesses = append(guesses, g)
		}
		hint := "known: " + strings.Join(known, ", ") + ", and " + strings.Join(azureVars(), ", ")
		if len(guesses) > 0 {
			hint = "did you mean " + strings.Join(guesses, ", or ") + "?"
		}
		return &configerr.Error{Key: name, Msg: "unknown environment variable: m365send reads no variable of this name", Advice: hint}
	}
	return nil
}

// closestVar returns the variable in vars whose name after its prefix
// (M365SEND_, AZURE_) is closest to name's, or "" when none is a likely
// typo or shortening of it.
func closestVar(name string, vars []string) string {
	suffix := func(v string) string {
		_, s, _ := strings.Cut(strings.ToUpper(v), "_")
		if strings.HasPrefix(strings.ToUpper(v), configkey.EnvPrefix) {
			s = strings.ToUpper(v)[len(configkey.EnvPrefix):]
		}
		return s
	}
	want := suffix(name)
	return suggest.Closest(want, vars, suggest.TypoLimit(want), func(want, v string) int {
		have := suffix(v)
		if strings.HasPrefix(have, want+"_") {
			return 1 // a shortened name, such as CLIENT_SECRET for CLIENT_SECRET_FILE
		}
		return suggest.EditDistance(want, have)
	})
}

// NamesProfile reports whether the environment sets any required
// profile key (AZURE_TENANT_ID, AZURE_CLIENT_ID): whether it is meant to
// make a profile without a file.
func NamesProfile(env func(string) string) bool {
	for _, k := range configkey.All() {
		if k.Required && k.Env != "" && env(k.Env) != "" {
			return true
		}
	}
	return false
}
