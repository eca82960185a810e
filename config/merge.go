package config

import (
	"path/filepath"

	"github.com/m365send/m365send/internal/configenv"
	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/relpath"
)

// merge puts the environment's settings over the file's profile name. It
// also returns, by the key that replaced it, each file setting the
// environment replaced.
func merge(name string, file *configfile.File, env func(string) string) (map[string]configkey.Setting, map[string]configkey.Replaced, error) {
	set := map[string]configkey.Setting{}
	if file != nil {
		fileSet, keys := file.Layer(name)
		if err := checkCredentialLayer(fileSet, keys); err != nil {
			return nil, nil, err
		}
		dir := filepath.Dir(file.Path)
		for _, k := range keys {
			set[k] = resolvePath(k, fileSet[k], dir, env("HOME"))
		}
	}
	envSet, keys := configenv.Layer(env)
	over, err := overlay(set, envSet, keys)
	if err != nil {
		return nil, nil, err
	}
	return set, over, nil
}

// resolvePath resolves the file's setting s of key k when k names a path
// (Key.Path): relative to dir, the file's folder, with "~/" the home
// folder (internal/relpath), so that the file means the same under cron,
// systemd or a web server as in the shell it was tried in.
func resolvePath(k string, s configkey.Setting, dir, home string) configkey.Setting {
	key, ok := configkey.Lookup(k)
	if !ok || !key.Path {
		return s
	}
	if s.Argv != nil {
		if len(s.Argv) > 0 && s.Argv[0] != "" {
			s.Argv = append([]string{relpath.Command(s.Argv[0], dir, home)}, s.Argv[1:]...)
		}
		return s
	}
	s.Val = relpath.Resolve(s.Val, dir, home)
	return s
}

// overlay puts layer's settings over set and says which it replaced. A
// layer that names a client credential replaces every credential of the
// layers below it, so that, say, AZURE_CLIENT_CERTIFICATE_PATH overrides
// a file's client_secret_env.
func overlay(set, layer map[string]configkey.Setting, keys []string) (map[string]configkey.Replaced, error) {
	if err := checkCredentialLayer(layer, keys); err != nil {
		return nil, err
	}
	over := map[string]configkey.Replaced{}
	for _, k := range keys {
		if configkey.IsCredential(k) {
			for old, s := range set {
				if configkey.IsCredential(old) {
					over[k] = configkey.Replaced{Key: old, From: s.From}
					delete(set, old)
				}
			}
			break
		}
	}
	for _, k := range keys {
		if s, ok := set[k]; ok {
			over[k] = configkey.Replaced{Key: k, From: s.From}
		}
		set[k] = layer[k]
	}
	return over, nil
}

// checkCredentialLayer refuses two client credentials set at the same
// level (a secret and a certificate, or two secret sources).
func checkCredentialLayer(set map[string]configkey.Setting, keys []string) error {
	var creds []string
	for _, k := range keys {
		if configkey.IsCredential(k) {
			creds = append(creds, k)
		}
	}
	if len(creds) < 2 {
		return nil
	}
	a, b := set[creds[0]], set[creds[1]]
	what := "two client credentials are"
	if configkey.IsSecret(creds[0]) != configkey.IsSecret(creds[1]) {
		what = "a client secret and a certificate are"
		if creds[0] == "federated_token_file" || creds[1] == "federated_token_file" {
			what = "two kinds of client credential are"
		}
	}
	return b.From.Errorf("keep exactly one; a certificate (certificate_file) is preferred over a secret",
		"%s both set (%s and %s)", what, a.From.Key, b.From.Key)
}
