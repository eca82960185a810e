package config

import (
	"fmt"
	"strconv"

	"github.com/m365send/m365send/internal/configenv"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/suggest"
)

// LoadOptions says where to look. Env is required (os.Getenv in main, a map
// in tests) so that nothing reads the process environment behind the
// caller's back; a nil Env is an empty environment, or Environ's when
// Environ is set.
type LoadOptions struct {
	// File is the configuration file the command line names (--config);
	// "" means $M365SEND_CONFIG, then $XDG_CONFIG_HOME/m365send/config.toml,
	// then $HOME/.config/m365send/config.toml, and when the user has no
	// such file, the system-wide $M365SEND_SYSTEM_CONFIG, else
	// /etc/m365send/config.toml (DefaultSystemConfig).
	File string
	// Profile is the profile the command line names (--profile); "" means
	// $M365SEND_PROFILE, then the file's default_profile, then "default".
	Profile string
	// Env looks up an environment variable.
	Env func(string) string
	// Environ is the whole environment in os.Environ's "KEY=value" form
	// (os.Environ() in main), used to refuse variables named M365SEND_*
	// that the program does not know (a typo such as
	// M365SEND_CLIENT_SECRET would otherwise be ignored silently). Values
	// are read from it only when Env is nil. Nil skips the check.
	Environ []string
	// Data, when not nil, is the content of the configuration file File
	// names, which is then not read: for checking a file before it is
	// written (m365send init). Paths in it resolve against File's folder.
	Data []byte
}

// Load reads, merges and validates the selected profile: the one entry
// every command loads its profile with. A missing file is fine when the
// environment supplies the profile. Errors are *Error.
func Load(opts LoadOptions) (*Profile, error) {
	env := opts.Env
	if env == nil {
		env = configenv.Lookup(opts.Environ)
	}
	if err := configenv.Check(opts.Environ); err != nil {
		return nil, err
	}
	var file *configfile.File
	var looked string
	var err error
	if opts.Data != nil && opts.File != "" {
		looked = opts.File
		file, err = configfile.Parse(opts.File, opts.Data)
	} else {
		file, looked, err = configfile.Find(opts.File, env)
	}
	if err != nil {
		return nil, err
	}
	if file == nil && !envNamesProfile(env) {
		return nil, noFileError(looked)
	}
	name, nameFrom, err := selectProfile(opts.Profile, env, file)
	if err != nil {
		return nil, err
	}
	set, over, err := merge(name, file, env)
	if err != nil {
		return nil, err
	}
	p, err := build(name, file, looked, set, env)
	if err != nil {
		return nil, err
	}
	p.prov = &provenance{set: set, replaced: over, name: nameFrom, file: fileOrigin(opts.File, env, file)}
	return p, nil
}

// File is the configuration file the commands read: flag (--config) when
// not "", else $M365SEND_CONFIG, else $XDG_CONFIG_HOME/m365send/config.toml,
// else $HOME/.config/m365send/config.toml; "" when none of them is set.
// It may not exist.
func File(flag string, env func(string) string) string {
	path, _ := configfile.Path(flag, env)
	return path
}

// envNamesProfile reports whether the environment sets any required
// profile key (AZURE_TENANT_ID, AZURE_CLIENT_ID): whether it is meant to
// make a profile without a file.
func envNamesProfile(env func(string) string) bool {
	for _, k := range configkey.All() {
		if k.Required && k.Env != "" && env(k.Env) != "" {
			return true
		}
	}
	return false
}

// noFileError says that there is no configuration file, where it was
// looked for, and how to make one (ErrNoFile: the command adds how its
// callers name a file).
func noFileError(looked string) *Error {
	if looked == "" {
		return &Error{Msg: "no configuration file: neither $XDG_CONFIG_HOME nor $HOME is set, so there is no default one",
			Advice: "name one, or put the profile in the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential)", Err: ErrNoFile}
	}
	return &Error{Msg: "no configuration file at " + shownPath(looked),
		Advice: "create one with `m365send init`, or put the profile in the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID and a credential)", Err: ErrNoFile}
}

// selectProfile picks the profile name: --profile, $M365SEND_PROFILE, the
// file's default_profile, then "default".
func selectProfile(flag string, env func(string) string, file *configfile.File) (string, configkey.Origin, error) {
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
		return defaultProfileName, configkey.Origin{Layer: configkey.LayerDefault}, nil
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
		if configfile.ShownKey([]string{best}) != best {
			hint = "did you mean the profile " + shown(best) + "?"
		}
	}
	if hint == "" && len(names) > 0 {
		hint = "profiles in " + file.Path + ": " + file.ShownProfiles()
	}
	if hint == "" {
		hint = "add a [profiles." + configfile.ShownKey([]string{name}) + "] table"
	}
	e := from.Errorf(hint, "no profile %s in %s", shown(name), file.Path)
	if from.Layer != configkey.LayerFile {
		e.File, e.Line = "", 0
	}
	return "", configkey.Origin{}, e
}
