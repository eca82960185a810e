package config

import (
	"strings"

	"github.com/m365send/m365send/internal/suggest"
)

// envPrefix starts every environment variable of the program's own.
const envPrefix = "M365SEND_"

// envLayer is the environment's settings: each key's variable that is set
// and not empty, in keyTable's order.
func envLayer(env func(string) string) (map[string]setting, []string) {
	set := map[string]setting{}
	var keys []string
	for _, k := range keyTable() {
		if k.Env == "" {
			continue
		}
		if v := env(k.Env); v != "" {
			set[k.Name] = setting{val: v, from: origin{layer: layerEnv, key: k.Env}}
			keys = append(keys, k.Name)
		}
	}
	return set, keys
}

// environLookup looks a variable up in environ ("KEY=value" lines), the
// first one of a name winning as with os.Getenv.
func environLookup(environ []string) func(string) string {
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
	for _, v := range Variables() {
		if !strings.HasPrefix(v, envPrefix) {
			vars = append(vars, v)
		}
	}
	return vars
}

// programVars are the M365SEND_* variables the program reads.
func programVars() []string {
	var vars []string
	for _, v := range Variables() {
		if strings.HasPrefix(v, envPrefix) {
			vars = append(vars, v)
		}
	}
	return vars
}

// CheckEnviron is the check Load and LoadGlobals make of an Environ: an
// unknown M365SEND_* variable is an *Error. The sendmail interface runs it
// itself and only warns, so that a typo in an unrelated variable does not
// stop cron's mail.
func CheckEnviron(environ []string) error { return checkEnviron(environ) }

// checkEnviron refuses an M365SEND_* variable (any case) that the program
// does not read, suggesting the one probably meant. Its value is never
// shown.
func checkEnviron(environ []string) error {
	known := programVars()
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(envPrefix) || !strings.EqualFold(name[:len(envPrefix)], envPrefix) || contains(known, name) {
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
		return &Error{Key: name, Msg: "unknown environment variable: m365send reads no variable of this name", Advice: hint}
	}
	return nil
}

// closestVar returns the variable in vars whose name after its prefix
// (M365SEND_, AZURE_) is closest to name's, or "" when none is a likely
// typo or shortening of it.
func closestVar(name string, vars []string) string {
	suffix := func(v string) string {
		_, s, _ := strings.Cut(strings.ToUpper(v), "_")
		if strings.HasPrefix(strings.ToUpper(v), envPrefix) {
			s = strings.ToUpper(v)[len(envPrefix):]
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
