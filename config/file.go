package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/m365send/m365send/internal/suggest"
	"github.com/m365send/m365send/internal/tomlscan"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// maxConfigSize bounds the configuration file: a real one is a few
// kilobytes, and the TOML parser's time and memory grow faster than the
// input on some documents.
const maxConfigSize = 1 << 20

// maxNesting is how deeply brackets and braces may nest in the file: the
// deepest the schema needs is an argv list in an inline profile table in
// an inline profiles table, profiles = { p = { client_secret_command =
// ["x"] } }. Deeper nesting is refused before parsing, because the parser
// takes time quadratic in it.
const maxNesting = 3

// loaded is a parsed configuration file.
type loaded struct {
	path           string
	lines          map[string]int // dotted key → line (keyLines)
	defaultProfile setting        // default_profile, val "" when not set
	queue          string         // queue: the spool folder as written, "" when not set
	queueAlways    bool           // queue_always
	// sys holds the sendmail interface's top-level settings (sysconfig.go).
	sys sysSettings
	// profiles holds each [profiles.NAME] table's settings by key; a
	// table with no keys is there with an empty map.
	profiles map[string]map[string]setting
}

// origin is where the file defines the dotted key parts.
func (l *loaded) origin(parts ...string) origin {
	k := strings.Join(parts, ".")
	return origin{layer: layerFile, file: l.path, line: l.lines[k], key: shownKey(parts)}
}

// shownProfiles lists the file's profiles for messages, as shownKey shows
// them (a pasted secret as a profile name is not shown).
func (l *loaded) shownProfiles() string {
	names := l.profileNames()
	for i, n := range names {
		names[i] = shownKey([]string{n})
	}
	return strings.Join(names, ", ")
}

// profileNames lists the file's profiles, sorted.
func (l *loaded) profileNames() []string {
	var names []string
	for n := range l.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// layer is the file's settings for profile name and their keys, in
// keyTable's order.
func (l *loaded) layer(name string) (map[string]setting, []string) {
	set := l.profiles[name]
	var keys []string
	for _, k := range keyTable() {
		if _, ok := set[k.Name]; ok {
			keys = append(keys, k.Name)
		}
	}
	return set, keys
}

// configPath returns the file to read and whether the user named it (a
// named file must exist; the default one may be absent).
func configPath(flag string, env func(string) string) (string, bool) {
	if flag != "" {
		return flag, true
	}
	if p := env(envConfig); p != "" {
		return p, true
	}
	if x := env("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "m365send", "config.toml"), false
	}
	if h := env("HOME"); h != "" {
		return filepath.Join(h, ".config", "m365send", "config.toml"), false
	}
	return "", false
}

// readFile reads and decodes the configuration file. It returns nil, nil
// for an absent default file.
func readFile(path string, explicit bool) (*loaded, error) {
	raw, err := readConfigFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, &Error{File: shownPath(path), Msg: fmt.Sprintf("cannot read configuration: %v", unwrapPathError(err)),
			Advice: "check the file's name (the one given, or $M365SEND_CONFIG), or create the file", Err: fmt.Errorf("%w: %w", ErrNoFile, err)}
	}
	return parseFile(path, raw)
}

// parseFile decodes raw, the content of the configuration file path.
func parseFile(path string, raw []byte) (*loaded, error) {
	if line, ok := tomlscan.TooDeep(raw, maxNesting); !ok {
		return nil, &Error{File: path, Line: line, Msg: fmt.Sprintf("brackets or braces nest more than %d deep", maxNesting),
			Advice: "profiles are flat tables: [profiles.NAME] with key = value lines"}
	}
	l := &loaded{path: path, lines: tomlscan.KeyLines(raw), profiles: map[string]map[string]setting{}}
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
func (l *loaded) add(k toml.Key, typ string, v any) error {
	switch {
	case len(k) == 1 && k[0] == "default_profile":
		s, ok := v.(string)
		if !ok {
			return wrongType(l.origin(k...), TypeString, typ)
		}
		l.defaultProfile = setting{val: s, from: l.origin(k...)}
		return nil
	case len(k) == 1 && k[0] == "queue":
		s, ok := v.(string)
		if !ok {
			return wrongType(l.origin(k...), TypeString, typ)
		}
		l.queue = s // resolved against the file's folder by LoadGlobals
		return nil
	case len(k) == 1 && k[0] == "queue_always":
		b, ok := v.(bool)
		if !ok {
			return errorf(l.origin(k...), "queue_always is true or false", "not a boolean")
		}
		l.queueAlways = b
		return nil
	case k[0] == "aliases" || len(k) == 1 && (k[0] == "aliases_file" || k[0] == "syslog"):
		return l.addSys(k, typ, v)
	case k[0] == "relay":
		// The [relay] table is read by package relay, which checks it.
		return nil
	case len(k) == 1 && k[0] == "profiles", len(k) == 2 && k[0] == "profiles":
		if typ != "Hash" {
			return errorf(l.origin(k...), "profiles are tables: [profiles.NAME] with key = value lines", "not a table")
		}
		if len(k) == 2 {
			l.profiles[k[1]] = map[string]setting{}
		}
		return nil
	case len(k) == 3 && k[0] == "profiles":
		key, ok := lookupKey(k[2])
		if !ok {
			return l.unknownKey(k)
		}
		s, err := fileSetting(key, v)
		if err != nil {
			return wrongType(l.origin(k...), key.Type, typ)
		}
		s.from = l.origin(k...)
		l.profiles[k[1]][k[2]] = s
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
func fileSetting(key Key, v any) (setting, error) {
	bad := fmt.Errorf("want %s", key.Type)
	switch key.Type {
	case TypeString:
		if s, ok := v.(string); ok {
			return setting{val: s}, nil
		}
	case TypeInteger:
		if n, ok := v.(int64); ok {
			return setting{val: strconv.FormatInt(n, 10)}, nil
		}
	case TypeBool:
		if b, ok := v.(bool); ok {
			return setting{val: strconv.FormatBool(b)}, nil
		}
	case TypeArgv:
		list, ok := v.([]any)
		if !ok {
			return setting{}, bad
		}
		argv := make([]string, 0, len(list))
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return setting{}, bad
			}
			argv = append(argv, s)
		}
		return setting{argv: argv}, nil
	}
	return setting{}, bad
}

// wrongType is the error for a value of TOML type typ where want belongs.
func wrongType(o origin, want Type, typ string) *Error {
	return errorf(o, "", "wrong type: want %s, not %s", want, tomlTypeName(typ))
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
func (l *loaded) unknownKey(k toml.Key) error {
	o := l.origin(k...)
	last := k[len(k)-1]
	pasted := shownKey([]string{last}) != last
	// A near miss of a known key is a typo first: client_secret_fiel wants
	// "did you mean client_secret_file", not the advice for a secret
	// written into the file.
	if len(k) == 3 && k[0] == "profiles" && !pasted {
		// Stricter than typoLimit: a short near miss such as client_secret
		// is a secret written into the file first.
		if hint := suggest.DidYouMean(last, fileKeys(), min(2, len(last)/3-1)); hint != "" {
			return errorf(o, hint, "unknown key")
		}
	}
	if pasted || looksSecret(last) {
		return errorf(o, "put the secret in an environment variable, a 0600 file or a command: use client_secret_env, client_secret_file or client_secret_command",
			"secrets never sit in the TOML; use client_secret_env/_file/_command")
	}
	switch {
	case len(k) == 1:
		hint := suggest.DidYouMean(last, []string{"default_profile", "profiles", "relay", "queue", "queue_always"}, suggest.TypoLimit(last))
		if hint == "" {
			hint = "top-level keys are default_profile, queue, queue_always, and the [profiles.NAME] and [relay] tables"
		}
		return errorf(o, hint, "unknown key")
	case len(k) == 3 && k[0] == "profiles":
		hint := suggest.DidYouMean(last, fileKeys(), suggest.TypoLimit(last))
		if hint == "" {
			hint = "known keys: " + strings.Join(fileKeys(), ", ")
		}
		return errorf(o, hint, "unknown key")
	}
	return errorf(o, "profiles are flat tables: [profiles.NAME] with key = value lines", "unknown key")
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

// shownKey is a dotted key as messages show it: a part that could be a
// pasted secret (neither short and plain, nor lowercase words joined by
// underscores) is shown as shown shows a value.
func shownKey(parts []string) string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p
		if !isShownInFull(p) && !keyNameRE.MatchString(p) || looksLikeSecretValue(p) && !keyNameRE.MatchString(p) {
			out[i] = shown(p)
		}
	}
	return strings.Join(out, ".")
}

var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// tomlError turns a decoder error into an *Error with the file, line and
// key. The parser's message and key may quote the document, so a secret
// pasted into it: both are masked (shownDotted, maskMessage), and the
// parser's own error, whose text has them in full, is not kept.
func tomlError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: path, Line: pe.Position.Line, Key: shownDotted(pe.LastKey), Msg: maskMessage(pe.Message), Advice: pe.Usage}
	}
	if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: path, Line: line, Key: shownDotted(m[2]), Msg: maskMessage(m[3])}
	}
	return &Error{File: path, Msg: maskMessage(strings.TrimPrefix(err.Error(), "toml: "))}
}

// shownDotted is a dotted key whose parts cannot be told apart (quotes
// removed, as in the parser's messages) as messages show it: from the
// first part that shownKey would not show, or the first key name (third
// part on) that is not lowercase words, the rest is shown as one value.
func shownDotted(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		if shownKey([]string{p}) != p || i >= 2 && !keyNameRE.MatchString(p) {
			return strings.Join(append(parts[:i:i], shown(strings.Join(parts[i:], "."))), ".")
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
