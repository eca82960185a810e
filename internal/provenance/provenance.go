// Package provenance says where each value of a loaded profile came from
// (the configuration file and line, an environment variable, the command
// line, or the default), for doctor -v, and warns when an azidentity
// variable (AZURE_*) took over a value the file sets. Nothing it shows is
// a secret: a secret's value is "(hidden)", and any value that looks like
// one is shown only by its length (package masked).
package provenance

import (
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/configcheck"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/masked"
)

// Record is what config.Load knew about where a profile's values came
// from.
type Record struct {
	// Set are the merged settings, by key.
	Set map[string]configkey.Setting
	// Replaced are the settings the environment replaced, by the key that
	// replaced each.
	Replaced map[string]configkey.Replaced
	// Name is where the profile's name came from.
	Name configkey.Origin
	// File is the configuration file read, and why (FileSource).
	File configkey.Source
}

// Profile is the loaded profile's values that Sources shows for keys
// that were not set (their defaults, as the profile has them).
type Profile struct {
	Name, Flow, Cloud, AuthorityHost, CacheDir string
	SMTPPort                                   int
}

// FileSource says which configuration file Load read (path, "" when none
// was found) and why: --config (flag), $M365SEND_CONFIG, or the default.
func FileSource(flag string, env func(string) string, path string) configkey.Source {
	s := configkey.Source{Key: "config file", Value: "(none found)", From: "default"}
	if path != "" {
		s.Value = path
	}
	switch {
	case flag != "":
		s.From = "--config"
	case env(configkey.EnvConfig) != "":
		s.From = "$" + configkey.EnvConfig
	}
	return s
}

// Sources lists where each of p's values came from: the configuration
// file, the profile's name, then every key in configkey.All's order
// (environment-only keys only when set).
func (pr *Record) Sources(p Profile) []configkey.Source {
	out := []configkey.Source{pr.File, {Key: "profile", Value: masked.Value(p.Name), From: pr.Name.Where()}}
	for _, k := range configkey.All() {
		s, ok := pr.Set[k.Name]
		if k.EnvOnly && !ok {
			continue
		}
		src := configkey.Source{Key: k.Name, Value: "(not set)", From: "default"}
		switch {
		case ok:
			src.Value, src.From = shownSetting(k, s), s.From.Where()
			if r, ok := pr.Replaced[k.Name]; ok {
				src.Overrides = r.From.Where() + " (" + r.Key + ")"
			}
		case (k.Name == "cloud" && p.Cloud != "global" || k.Name == "authority_host" && p.AuthorityHost != "") && pr.Set[configkey.AzureAuthority].Val != "":
			src.From = "$AZURE_AUTHORITY_HOST"
			src.Value = masked.Value(p.Cloud)
			if k.Name == "authority_host" {
				src.Value = masked.Value(p.AuthorityHost)
			}
		default:
			src.Value = p.defaultValue(k)
		}
		switch {
		case ok && k.SecretRef && p.Flow == configkey.FlowDeviceCode:
			src.Note = "ignored: a device_code profile takes no client credential"
		case ok && k.Name == configkey.AzureAuthority && (pr.Set["cloud"].Val != "" || pr.Set["authority_host"].Val != ""):
			src.Note = "ignored: the profile sets cloud or authority_host, which win over it (as in azidentity)"
		}
		out = append(out, src)
	}
	return out
}

// shownSetting is a setting's value as Sources shows it.
func shownSetting(k configkey.Key, s configkey.Setting) string {
	switch {
	case k.EnvOnly && k.Name != configkey.AzureAuthority:
		return "(hidden)"
	case k.Type == configkey.TypeArgv:
		parts := make([]string, len(s.Argv))
		for i, a := range s.Argv {
			parts[i] = masked.Value(a)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case k.Type == configkey.TypeInteger:
		return s.Val // a number: build checked it
	case strings.HasSuffix(k.Name, "_file") || k.Name == "cache_dir":
		return masked.Path(s.Val)
	case (k.Name == "tenant" || k.Name == "client_id") && configcheck.IsGUID(s.Val):
		// Checked IDs, not secrets: which app signs in is the point.
		return strconv.Quote(s.Val)
	}
	return masked.Value(s.Val)
}

// defaultValue is what applies for a key that is not set.
func (p Profile) defaultValue(k configkey.Key) string {
	switch k.Name {
	case "flow":
		return p.Flow
	case "cloud":
		return p.Cloud
	case "smtp_port":
		return strconv.Itoa(p.SMTPPort)
	case "cache_dir":
		if p.CacheDir != "" {
			return masked.Path(p.CacheDir)
		}
	}
	if k.Default != "" {
		return k.Default
	}
	return "(not set)"
}

// Warnings are the profile's values that an azidentity variable (AZURE_*)
// set in the environment took over from the configuration file: a
// variable left in a shell by az, Terraform or another tool (AZURE_CLIENT_ID
// is the classic) silently changing which app signs in. Each is one line,
// without the program's name.
func (pr *Record) Warnings() []string {
	var out []string
	for _, k := range configkey.All() {
		s, ok := pr.Set[k.Name]
		r, over := pr.Replaced[k.Name]
		if !ok || !over || s.From.Layer != configkey.LayerEnv || !strings.HasPrefix(s.From.Key, "AZURE_") || r.From.Layer != configkey.LayerFile {
			continue
		}
		what := "overrides " + r.Key
		if r.Key != k.Name {
			what = "replaces " + r.Key
		}
		out = append(out, s.From.Key+" in the environment "+what+" set in "+r.From.Where()+
			": the environment wins; unset "+s.From.Key+" if another tool (az, Terraform) left it in this shell")
	}
	return out
}
