package initconfig

import (
	"fmt"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
)

// Values merges the profile keys given with flags of their own (given,
// not changed) with the --set KEY=VALUE pairs of set, for Options.Values.
// A pair that is not KEY=VALUE, and a key given twice, are usage failures.
func Values(given map[string]string, set []string) (map[string]string, error) {
	values := make(map[string]string, len(given)+len(set))
	for k, v := range given {
		values[k] = v
	}
	for _, kv := range set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, failure.New(failure.Usage, fmt.Sprintf("--set %q: not KEY=VALUE", kv), "such as --set smtp_port=587")
		}
		if _, dup := values[k]; dup {
			return nil, failure.New(failure.Usage, fmt.Sprintf("%s is given twice", k), "give each key once")
		}
		values[k] = v
	}
	return values, nil
}

// Report is what `m365send init` tells the person once r was written: a
// line each, what was written where, then what to do next (sign in for a
// device_code profile, else check with doctor, unless the doctor runs
// now). configFlag and profileFlag are the --config and --profile given
// ("" when not), repeated in the next command.
func (r *Result) Report(configFlag, profileFlag string) []string {
	what := "m365send: added profile %q to %s"
	if r.Created {
		what = "m365send: wrote profile %q to %s (mode 0600)"
	}
	lines := []string{fmt.Sprintf(what, r.Profile, r.Path)}
	if r.SecretFile != "" {
		lines = append(lines, fmt.Sprintf("m365send: the client secret is in %s (mode 0600)", r.SecretFile))
	}
	flags := ""
	if configFlag != "" {
		flags += " --config " + config.ShellQuote(configFlag)
	}
	if profileFlag != "" {
		flags += " --profile " + config.ShellQuote(profileFlag)
	}
	switch {
	case r.Flow == config.FlowDeviceCode:
		lines = append(lines, fmt.Sprintf("next: sign in once with `m365send login%s`", flags))
	case !r.Doctor:
		lines = append(lines, fmt.Sprintf("next: check it with `m365send doctor%s`", flags))
	}
	return lines
}
