package config

import (
	"path/filepath"

	"github.com/m365send/m365send/internal/relpath"
)

// Where a setting came from, lowest precedence first. Only the command
// line's --profile is a flag: no flag sets a profile key.
const (
	layerDefault = iota
	layerFile
	layerEnv
	layerFlag
)

// origin is where a value came from, for error messages.
type origin struct {
	layer int
	file  string
	line  int
	key   string // profiles.NAME.KEY, the environment variable, or --profile
}

// setting is one value and where it came from.
type setting struct {
	val  string
	argv []string // TypeArgv keys (client_secret_command) only
	from origin
}

// replaced is a setting a higher layer replaced: its key and where it
// was set.
type replaced struct {
	key  string
	from origin
}

// merge puts the environment's settings over the file's profile name. It
// also returns, by the key that replaced it, each file setting the
// environment replaced.
func merge(name string, file *loaded, env func(string) string) (map[string]setting, map[string]replaced, error) {
	set := map[string]setting{}
	if file != nil {
		fileSet, keys := file.layer(name)
		if err := checkCredentialLayer(fileSet, keys); err != nil {
			return nil, nil, err
		}
		dir := filepath.Dir(file.path)
		for _, k := range keys {
			set[k] = resolvePath(k, fileSet[k], dir, env("HOME"))
		}
	}
	envSet, keys := envLayer(env)
	over, err := overlay(set, envSet, keys)
	if err != nil {
		return nil, nil, err
	}
	return set, over, nil
}

// resolvePath resolves the file's setting s of key k when k names a
// path (Key.Path): relative to dir, the file's folder, with "~/" the home
// folder (internal/relpath), so that the file means the same under cron,
// systemd or a web server as in the shell it was tried in.
func resolvePath(k string, s setting, dir, home string) setting {
	key, ok := lookupKey(k)
	if !ok || !key.Path {
		return s
	}
	if s.argv != nil {
		if len(s.argv) > 0 && s.argv[0] != "" {
			s.argv = append([]string{relpath.Command(s.argv[0], dir, home)}, s.argv[1:]...)
		}
		return s
	}
	s.val = relpath.Resolve(s.val, dir, home)
	return s
}

// overlay puts layer's settings over set and says which it replaced. A
// layer that names a client credential replaces every credential of the
// layers below it, so that, say, AZURE_CLIENT_CERTIFICATE_PATH overrides
// a file's client_secret_env.
func overlay(set, layer map[string]setting, keys []string) (map[string]replaced, error) {
	if err := checkCredentialLayer(layer, keys); err != nil {
		return nil, err
	}
	over := map[string]replaced{}
	for _, k := range keys {
		if isCredential(k) {
			for old, s := range set {
				if isCredential(old) {
					over[k] = replaced{key: old, from: s.from}
					delete(set, old)
				}
			}
			break
		}
	}
	for _, k := range keys {
		if s, ok := set[k]; ok {
			over[k] = replaced{key: k, from: s.from}
		}
		set[k] = layer[k]
	}
	return over, nil
}

// checkCredentialLayer refuses two client credentials set at the same
// level (a secret and a certificate, or two secret sources).
func checkCredentialLayer(set map[string]setting, keys []string) error {
	var creds []string
	for _, k := range keys {
		if isCredential(k) {
			creds = append(creds, k)
		}
	}
	if len(creds) < 2 {
		return nil
	}
	a, b := set[creds[0]], set[creds[1]]
	what := "two client credentials are"
	if isSecretKey(creds[0]) != isSecretKey(creds[1]) {
		what = "a client secret and a certificate are"
		if creds[0] == "federated_token_file" || creds[1] == "federated_token_file" {
			what = "two kinds of client credential are"
		}
	}
	return errorf(b.from, "keep exactly one; a certificate (certificate_file) is preferred over a secret",
		"%s both set (%s and %s)", what, a.from.key, b.from.key)
}
