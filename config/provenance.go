package config

import (
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/configfile"
	"github.com/m365send/m365send/internal/configkey"
)

// Source says where one value of a loaded profile came from, for doctor
// -v and the warnings of commands run with -v. Nothing in it is a secret:
// a secret's value is shown as "(hidden)", and any value that looks like
// one only by its length.
type Source = configkey.Source

// provenance is what Load knew about where the profile's values came
// from.
type provenance struct {
	set      map[string]configkey.Setting
	replaced map[string]configkey.Replaced
	name     configkey.Origin // of the profile's name
	file     Source           // the configuration file
}

// fileOrigin says which configuration file Load read and why.
func fileOrigin(flag string, env func(string) string, file *configfile.File) Source {
	s := Source{Key: "config file", Value: "(none found)", From: "default"}
	if file != nil {
		s.Value = file.Path
	}
	switch {
	case flag != "":
		s.From = "--config"
	case env(configkey.EnvConfig) != "":
		s.From = "$" + configkey.EnvConfig
	}
	return s
}

// Sources lists where each of the profile's values came from: the
// configuration file, the profile's name, then every key in Keys' order
// (environment-only keys only when set). It is nil for a Profile that
// Load did not make.
func (p *Profile) Sources() []Source {
	pr := p.prov
	if pr == nil {
		return nil
	}
	out := []Source{pr.file, {Key: "profile", Value: shown(p.Name), From: pr.name.Where()}}
	for _, k := range configkey.All() {
		s, ok := pr.set[k.Name]
		if k.EnvOnly && !ok {
			continue
		}
		src := Source{Key: k.Name, Value: "(not set)", From: "default"}
		switch {
		case ok:
			src.Value, src.From = shownSetting(k, s), s.From.Where()
			if r, ok := pr.replaced[k.Name]; ok {
				src.Overrides = r.From.Where() + " (" + r.Key + ")"
			}
		case (k.Name == "cloud" && p.Cloud != "global" || k.Name == "authority_host" && p.AuthorityHost != "") && pr.set[configkey.AzureAuthority].Val != "":
			src.From = "$AZURE_AUTHORITY_HOST"
			src.Value = shown(p.Cloud)
			if k.Name == "authority_host" {
				src.Value = shown(p.AuthorityHost)
			}
		default:
			src.Value = p.defaultValue(k)
		}
		switch {
		case ok && k.SecretRef && p.Flow == FlowDeviceCode:
			src.Note = "ignored: a device_code profile takes no client credential"
		case ok && k.Name == configkey.AzureAuthority && (pr.set["cloud"].Val != "" || pr.set["authority_host"].Val != ""):
			src.Note = "ignored: the profile sets cloud or authority_host, which win over it (as in azidentity)"
		}
		out = append(out, src)
	}
	return out
}

// shownSetting is a setting's value as Sources shows it.
func shownSetting(k Key, s configkey.Setting) string {
	switch {
	case k.EnvOnly && k.Name != configkey.AzureAuthority:
		return "(hidden)"
	case k.Type == TypeArgv:
		parts := make([]string, len(s.Argv))
		for i, a := range s.Argv {
			parts[i] = shown(a)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case k.Type == TypeInteger:
		return s.Val // a number: build checked it
	case strings.HasSuffix(k.Name, "_file") || k.Name == "cache_dir":
		return shownPath(s.Val)
	case (k.Name == "tenant" || k.Name == "client_id") && IsGUID(s.Val):
		// Checked IDs, not secrets: which app signs in is the point.
		return strconv.Quote(s.Val)
	}
	return shown(s.Val)
}

// defaultValue is what applies for a key that is not set.
func (p *Profile) defaultValue(k Key) string {
	switch k.Name {
	case "flow":
		return p.Flow
	case "cloud":
		return p.Cloud
	case "smtp_port":
		return strconv.Itoa(p.SMTPPort)
	case "cache_dir":
		if p.CacheDir != "" {
			return shownPath(p.CacheDir)
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
func (p *Profile) Warnings() []string {
	pr := p.prov
	if pr == nil {
		return nil
	}
	var out []string
	for _, k := range configkey.All() {
		s, ok := pr.set[k.Name]
		r, over := pr.replaced[k.Name]
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
