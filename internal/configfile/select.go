package configfile

import (
	"fmt"
	"strconv"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/suggest"
)

// DefaultProfileName is the profile used when neither --profile,
// $M365SEND_PROFILE nor the file's default_profile names one.
const DefaultProfileName = "default"

// SelectProfile picks the profile name and where it came from: flag
// (--profile), $M365SEND_PROFILE, the file's default_profile, then
// "default". A name that the file (nil when there is none) does not hold
// is refused, suggesting the one probably meant.
func SelectProfile(flag string, env func(string) string, file *File) (string, configkey.Origin, error) {
	var name string
	var from configkey.Origin
	switch {
	case flag != "":
		name, from = flag, configkey.Origin{Layer: configkey.LayerFlag, Key: "--profile"}
	case env(configkey.EnvProfile) != "":
		name, from = env(configkey.EnvProfile), configkey.Origin{Layer: configkey.LayerEnv, Key: configkey.EnvProfile}
	case file != nil && file.DefaultProfile.Val != "":
		name, from = file.DefaultProfile.Val, file.DefaultProfile.From
	default:
		return DefaultProfileName, configkey.Origin{Layer: configkey.LayerDefault}, nil
	}
	if file == nil {
		return name, from, nil
	}
	if _, ok := file.Profiles[name]; ok {
		return name, from, nil
	}
	names := file.ProfileNames()
	hint := ""
	if best := suggest.Closest(name, names, suggest.TypoLimit(name), nil); best != "" {
		hint = fmt.Sprintf("did you mean %s?", strconv.Quote(best))
		if ShownKey([]string{best}) != best {
			hint = "did you mean the profile " + masked.Value(best) + "?"
		}
	}
	if hint == "" && len(names) > 0 {
		hint = "profiles in " + file.Path + ": " + file.ShownProfiles()
	}
	if hint == "" {
		hint = "add a [profiles." + ShownKey([]string{name}) + "] table"
	}
	e := from.Errorf(hint, "no profile %s in %s", masked.Value(name), file.Path)
	if from.Layer != configkey.LayerFile {
		e.File, e.Line = "", 0
	}
	return "", configkey.Origin{}, e
}

// NoFile says that there is no configuration file, where it was looked
// for (looked, "" when no default could be determined), and how to make
// one (configerr.ErrNoFile: the command adds how its callers name a
// file).
func NoFile(looked string) *configerr.Error {
	if looked == "" {
		return &configerr.Error{Msg: "no configuration file: neither $XDG_CONFIG_HOME nor $HOME is set, so there is no default one",
			Advice: "name one, or put the profile in the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential)", Err: configerr.ErrNoFile}
	}
	return &configerr.Error{Msg: "no configuration file at " + masked.Path(looked),
		Advice: "create one with `m365send init`, or put the profile in the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential)", Err: configerr.ErrNoFile}
}
