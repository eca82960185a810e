package config

import (
	"github.com/m365send/m365send/internal/configenv"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/provenance"
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
	if file == nil && !configenv.NamesProfile(env) {
		return nil, configfile.NoFile(looked)
	}
	name, nameFrom, err := configfile.SelectProfile(opts.Profile, env, file)
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
	path := ""
	if file != nil {
		path = file.Path
	}
	p.prov = &provenance.Record{Set: set, Replaced: over, Name: nameFrom, File: provenance.FileSource(opts.File, env, path)}
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
