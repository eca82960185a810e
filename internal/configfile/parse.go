package configfile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/m365send/m365send/internal/configerr"
	"github.com/m365send/m365send/internal/configkey"
	"github.com/m365send/m365send/internal/masked"
	"github.com/m365send/m365send/internal/suggest"
	"github.com/m365send/m365send/internal/tomlscan"
)

// Parse decodes raw, the content of the configuration file path.
func Parse(path string, raw []byte) (*File, error) {
	if line, ok := tomlscan.TooDeep(raw, MaxNesting); !ok {
		return nil, &configerr.Error{File: path, Line: line, Msg: fmt.Sprintf("brackets or braces nest more than %d deep", MaxNesting),
			Advice: "profiles are flat tables: [profiles.NAME] with key = value lines"}
	}
	l := &File{Path: path, Lines: tomlscan.KeyLines(raw), Profiles: map[string]map[string]configkey.Setting{}}
	var doc map[string]any
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&doc)
	if err != nil {
		return nil, tomlError(path, err)
	}
	// md.Keys lists every key in the order of the file, a table before
	// its keys, so the first problem in the file is the one reported.
	for _, k := range md.Keys() {
		if err := l.add(k, md.Type(k...), lookup(doc, k)); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// add records the key k of TOML type typ and value v, or says what is
// wrong with it.
func (l *File) add(k toml.Key, typ string, v any) error {
	switch {
	case len(k) == 1 && k[0] == "default_profile":
		s, ok := v.(string)
		if !ok {
			return wrongType(l.Origin(k...), configkey.TypeString, typ)
		}
		l.DefaultProfile = configkey.Setting{Val: s, From: l.Origin(k...)}
		return nil
	case len(k) == 1 && k[0] == "queue":
		s, ok := v.(string)
		if !ok {
			return wrongType(l.Origin(k...), configkey.TypeString, typ)
		}
		l.Queue = s // resolved against the file's folder by config.LoadGlobals
		return nil
	case len(k) == 1 && k[0] == "queue_always":
		b, ok := v.(bool)
		if !ok {
			return l.Origin(k...).Errorf("queue_always is true or false", "not a boolean")
		}
		l.QueueAlways = b
		return nil
	case k[0] == "aliases" || len(k) == 1 && (k[0] == "aliases_file" || k[0] == "syslog"):
		return l.addSys(k, typ, v)
	case k[0] == "relay":
		// The [relay] table is read by package relay, which checks it.
		return nil
	case len(k) == 1 && k[0] == "profiles", len(k) == 2 && k[0] == "profiles":
		if typ != "Hash" {
			return l.Origin(k...).Errorf("profiles are tables: [profiles.NAME] with key = value lines", "not a table")
		}
		if len(k) == 2 {
			l.Profiles[k[1]] = map[string]configkey.Setting{}
		}
		return nil
	case len(k) == 3 && k[0] == "profiles":
		key, ok := configkey.Lookup(k[2])
		if !ok {
			return l.unknownKey(k)
		}
		s, err := fileSetting(key, v)
		if err != nil {
			return wrongType(l.Origin(k...), key.Type, typ)
		}
		s.From = l.Origin(k...)
		l.Profiles[k[1]][k[2]] = s
		return nil
	}
	return l.unknownKey(k)
}

// lookup returns the value at the dotted key k of doc, or nil.
func lookup(doc map[string]any, k toml.Key) any {
	var v any = doc
	for _, part := range k {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// fileSetting converts a TOML value to a setting of key's type.
func fileSetting(key configkey.Key, v any) (configkey.Setting, error) {
	bad := fmt.Errorf("want %s", key.Type)
	switch key.Type {
	case configkey.TypeString:
		if s, ok := v.(string); ok {
			return configkey.Setting{Val: s}, nil
		}
	case configkey.TypeInteger:
		if n, ok := v.(int64); ok {
			return configkey.Setting{Val: strconv.FormatInt(n, 10)}, nil
		}
	case configkey.TypeBool:
		if b, ok := v.(bool); ok {
			return configkey.Setting{Val: strconv.FormatBool(b)}, nil
		}
	case configkey.TypeArgv:
		list, ok := v.([]any)
		if !ok {
			return configkey.Setting{}, bad
		}
		argv := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return configkey.Setting{}, bad
			}
			argv = append(argv, s)
		}
		return configkey.Setting{Argv: argv}, nil
	}
	return configkey.Setting{}, bad
}

// wrongType is the error for a value of TOML type typ where want belongs.
func wrongType(o configkey.Origin, want configkey.Type, typ string) *configerr.Error {
	return o.Errorf("", "wrong type: want %s, not %s", want, tomlTypeName(typ))
}

// tomlTypeName is how the docs name a TOML type that MetaData.Type names.
func tomlTypeName(typ string) string {
	switch typ {
	case "Hash":
		return "a table"
	case "ArrayHash":
		return "an array of tables"
	case "Array":
		return "an array"
	case "Integer":
		return "an integer"
	case "":
		return "nothing"
	}
	return "a " + strings.ToLower(typ)
}

// unknownKey refuses a key the program does not know, with a suggestion,
// or with advice when it is a secret written into the file. A key that
// looks like a secret value (one pasted as a key) is not shown.
func (l *File) unknownKey(k toml.Key) error {
	o := l.Origin(k...)
	last := k[len(k)-1]
	pasted := ShownKey([]string{last}) != last
	// A near miss of a known key is a typo first: client_secret_fiel wants
	// "did you mean client_secret_file", not the advice for a secret
	// written into the file.
	if len(k) == 3 && k[0] == "profiles" && !pasted {
		// Stricter than typoLimit: a short near miss such as client_secret
		// is a secret written into the file first.
		if hint := suggest.DidYouMean(last, configkey.FileKeys(), min(2, len(last)/3-1)); hint != "" {
			return o.Errorf(hint, "unknown key")
		}
	}
	if pasted || looksSecret(last) {
		return o.Errorf("put the secret in an environment variable, a 0600 file or a command: use client_secret_env, client_secret_file or client_secret_command",
			"secrets never sit in the TOML; use client_secret_env/_file/_command")
	}
	switch {
	case len(k) == 1:
		hint := suggest.DidYouMean(last, []string{"default_profile", "profiles", "relay", "queue", "queue_always"}, suggest.TypoLimit(last))
		if hint == "" {
			hint = "top-level keys are default_profile, queue, queue_always, and the [profiles.NAME] and [relay] tables"
		}
		return o.Errorf(hint, "unknown key")
	case len(k) == 3 && k[0] == "profiles":
		hint := suggest.DidYouMean(last, configkey.FileKeys(), suggest.TypoLimit(last))
		if hint == "" {
			hint = "known keys: " + strings.Join(configkey.FileKeys(), ", ")
		}
		return o.Errorf(hint, "unknown key")
	}
	return o.Errorf("profiles are flat tables: [profiles.NAME] with key = value lines", "unknown key")
}

// looksSecret reports whether an unknown key's name says it holds a
// literal secret.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"secret", "password", "passwd", "token", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// keyNameRE matches what a key name written by a person looks like.
var keyNameRE = regexp.MustCompile(`^[a-z_]{1,64}$`)

// ShownKey is a dotted key as messages show it: a part that could be a
// pasted secret (neither short and plain, nor lowercase words joined by
// underscores) is shown as shown shows a value.
func ShownKey(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p
		if !masked.InFull(p) && !keyNameRE.MatchString(p) || masked.LooksLikeSecret(p) && !keyNameRE.MatchString(p) {
			out[i] = masked.Value(p)
		}
	}
	return strings.Join(out, ".")
}

var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// tomlError turns a decoder error into a *configerr.Error with the file,
// line and key. The parser's message and key may quote the document, so a secret
// pasted into it: both are masked (shownDotted, maskMessage), and the
// parser's own error, whose text has them in full, is not kept.
func tomlError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &configerr.Error{File: path, Line: pe.Position.Line, Key: shownDotted(pe.LastKey), Msg: maskMessage(pe.Message), Advice: pe.Usage}
	}
	if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &configerr.Error{File: path, Line: line, Key: shownDotted(m[2]), Msg: maskMessage(m[3])}
	}
	return &configerr.Error{File: path, Msg: maskMessage(strings.TrimPrefix(err.Error(), "toml: "))}
}

// shownDotted is a dotted key whose parts cannot be told apart (quotes
// removed, as in the parser's messages) as messages show it: from the
// first part that ShownKey would not show, or the first key name (third
// part on) that is not lowercase words, the rest is shown as one value.
func shownDotted(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		if ShownKey([]string{p}) != p || i >= 2 && !keyNameRE.MatchString(p) {
			return strings.Join(append(parts[:i:i], masked.Value(strings.Join(parts[i:], "."))), ".")
		}
	}
	return k
}

var (
	quotedRE     = regexp.MustCompile(`'"?([^'"]*)"?'|"([^"]*)"`)
	foundValueRE = regexp.MustCompile(`found "([^"]*)" instead`)
)

// maskMessage masks what a parser message quotes from the document: a
// word found where a value belongs unless it is lowercase letters (such
// as yes), and any quoted key that shownDotted would not show in full.
func maskMessage(msg string) string {
	msg = foundValueRE.ReplaceAllStringFunc(msg, func(m string) string {
		if w := foundValueRE.FindStringSubmatch(m)[1]; keyNameRE.MatchString(w) {
			return m
		}
		return "found an unquoted word instead (a string value is quoted)"
	})
	return quotedRE.ReplaceAllStringFunc(msg, func(m string) string {
		sub := quotedRE.FindStringSubmatch(m)
		inner := sub[1] + sub[2]
		if len(inner) <= 2 {
			return m // a character, such as '~'
		}
		if shown := shownDotted(inner); shown != inner {
			return "'" + shown + "'"
		}
		return m
	})
}

// syslogFacilities are the facilities the syslog key takes.
var syslogFacilities = []string{"mail", "user", "daemon", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// addSys records aliases.NAME, aliases_file or syslog.
func (l *File) addSys(k toml.Key, typ string, v any) error {
	o := l.Origin(k...)
	switch {
	case len(k) == 1 && k[0] == "aliases":
		if typ != "Hash" {
			return o.Errorf(`aliases is a table: [aliases] with lines such as root = "ops@contoso.com"`, "not a table")
		}
		return nil
	case k[0] == "aliases" && len(k) == 2:
		var targets []string
		switch t := v.(type) {
		case string:
			targets = strings.Split(t, ",")
		case []any:
			for _, e := range t {
				s, ok := e.(string)
				if !ok {
					return wrongType(o, configkey.TypeString, typ)
				}
				targets = append(targets, s)
			}
		default:
			return o.Errorf(`an alias is an address or a list: root = "ops@contoso.com" or root = ["a@x", "b@x"]`, "wrong type: want a string or an array of strings, not %s", tomlTypeName(typ))
		}
		var clean []string
		for _, t := range targets {
			if t = strings.TrimSpace(t); t != "" {
				clean = append(clean, t)
			}
		}
		if l.Aliases == nil {
			l.Aliases = map[string][]string{}
		}
		l.Aliases[strings.ToLower(k[1])] = clean
		return nil
	case k[0] == "aliases_file":
		s, ok := v.(string)
		if !ok {
			return wrongType(o, configkey.TypeString, typ)
		}
		l.AliasesFile = s // resolved against the file's folder by config.LoadGlobals
		return nil
	case k[0] == "syslog":
		switch t := v.(type) {
		case bool:
			if t {
				l.Syslog = "mail"
			}
			return nil
		case string:
			if !slices.Contains(syslogFacilities, t) {
				return o.Errorf("syslog is true, false or a facility: "+strings.Join(syslogFacilities, ", "), "unknown syslog facility %s", masked.Value(t))
			}
			l.Syslog = t
			return nil
		}
		return o.Errorf("syslog is true, false or a facility: "+strings.Join(syslogFacilities, ", "), "wrong type: not %s", tomlTypeName(typ))
	}
	return l.unknownKey(k)
}
