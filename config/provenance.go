package config

import (
	"strconv"
	"strings"
)

// Source says where one value of a loaded profile came from, for doctor
// -v and the warnings of commands run with -v. Nothing in it is a secret:
// a secret's value is shown as "(hidden)", and any value that looks like
// one only by its length.
type Source struct {
	// Key is the profile key (a Keys name), or "config file" or "profile"
	// for the file read and the profile chosen.
	Key string
	// Value is the value as it may be shown, or "(not set)".
	Value string
	// From is where the value came from: "FILE:LINE", "$VARIABLE",
	// "--profile" or "--config", or "default".
	From string
	// Overrides is where the setting it replaced was made ("FILE:LINE
	// (KEY)"), or "".
	Overrides string
	// Note says more (such as that the value is ignored), or "".
	Note string
}

// provenance is what Load knew about where the profile's values came
// from.
type provenance struct {
	set      map[string]setting
	replaced map[string]replaced
	name     origin // of the profile's name
	file     Source // the configuration file
}

// where says where an origin is, as Source.From shows it.
func (o origin) where() string {
	switch o.layer {
	case layerFile:
		if o.line > 0 {
			return o.file + ":" + strconv.Itoa(o.line)
		}
		return o.file
	case layerEnv:
		return "$" + o.key
	case layerFlag:
		return o.key
	}
	return "default"
}

// fileOrigin says which configuration file Load read and why.
func fileOrigin(flag string, env func(string) string, file *loaded) Source {
	s := Source{Key: "config file", Value: "(none found)", From: "default"}
	if file != nil {
		s.Value = file.path
	}
	switch {
	case flag != "":
		s.From = "--config"
	case env(envConfig) != "":
		s.From = "$" + envConfig
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
	out := []Source{pr.file, {Key: "profile", Value: shown(p.Name), From: pr.name.where()}}
	for _, k := range keyTable() {
		s, ok := pr.set[k.Name]
		if k.EnvOnly && !ok {
			continue
		}
		src := Source{Key: k.Name, Value: "(not set)", From: "default"}
		switch {
		case ok:
			src.Value, src.From = shownSetting(k, s), s.from.where()
			if r, ok := pr.replaced[k.Name]; ok {
				src.Overrides = r.from.where() + " (" + r.key + ")"
			}
		case (k.Name == "cloud" && p.Cloud != "global" || k.Name == "authority_host" && p.AuthorityHost != "") && pr.set[azureAuthorityKey].val != "":
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
		case ok && k.Name == azureAuthorityKey && (pr.set["cloud"].val != "" || pr.set["authority_host"].val != ""):
			src.Note = "ignored: the profile sets cloud or authority_host, which win over it (as in azidentity)"
		}
		out = append(out, src)
	}
	return out
}

// shownSetting is a setting's value as Sources shows it.
func shownSetting(k Key, s setting) string {
	switch {
	case k.EnvOnly && k.Name != azureAuthorityKey:
		return "(hidden)"
	case k.Type == TypeArgv:
		parts := make([]string, len(s.argv))
		for i, a := range s.argv {
			parts[i] = shown(a)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case k.Type == TypeInteger:
		return s.val // a number: build checked it
	case strings.HasSuffix(k.Name, "_file") || k.Name == "cache_dir":
		return shownPath(s.val)
	case (k.Name == "tenant" || k.Name == "client_id") && IsGUID(s.val):
		// Checked IDs, not secrets: which app signs in is the point.
		return strconv.Quote(s.val)
	}
	return shown(s.val)
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
	for _, k := range keyTable() {
		s, ok := pr.set[k.Name]
		r, over := pr.replaced[k.Name]
		if !ok || !over || s.from.layer != layerEnv || !strings.HasPrefix(s.from.key, "AZURE_") || r.from.layer != layerFile {
			continue
		}
		what := "overrides " + r.key
		if r.key != k.Name {
			what = "replaces " + r.key
		}
		out = append(out, s.from.key+" in the environment "+what+" set in "+r.from.where()+
			": the environment wins; unset "+s.from.key+" if another tool (az, Terraform) left it in this shell")
	}
	return out
}
