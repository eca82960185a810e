package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// LoadOptions says where to look. Env is required (os.Getenv in main, a map
// in tests) so that nothing reads the process environment behind the
// caller's back; a nil Env is an empty environment.
type LoadOptions struct {
	File      string              // --config; "" means $M365SEND_CONFIG, then $XDG_CONFIG_HOME/m365send/config.toml, then $HOME/.config/m365send/config.toml
	Profile   string              // --profile; "" means $M365SEND_PROFILE, then default_profile, then "default"
	Env       func(string) string // environment lookup
	Overrides map[string]string   // flag values by config key (e.g. "mailbox")
	// Environ is the whole environment in os.Environ's "KEY=value" form
	// (os.Environ() in main), used only to refuse variables named
	// M365SEND_* that the program does not know (a typo such as
	// M365SEND_CLIENT_SECRET would otherwise be ignored silently). Values
	// are never read from it, only Env is. Nil skips the check.
	Environ []string
}

// layers, lowest precedence first.
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
	key   string // profiles.NAME.KEY, the environment variable, or --flag
}

// setting is one value and where it came from.
type setting struct {
	val  string
	argv []string // client_secret_command only
	from origin
}

// keyDef describes one profile key.
type keyDef struct {
	name       string
	env        string // environment variable, or ""
	credential bool   // one of the mutually exclusive client credentials
}

// secretKey is the pseudo-key for AZURE_CLIENT_SECRET, the only way a
// literal secret enters a profile.
const secretKey = "client_secret"

// profileKeys lists every key a [profiles.NAME] table may hold.
func profileKeys() []keyDef {
	return []keyDef{
		{name: "flow", env: "M365SEND_FLOW"},
		{name: "tenant", env: "AZURE_TENANT_ID"},
		{name: "client_id", env: "AZURE_CLIENT_ID"},
		{name: "client_secret_env", credential: true},
		{name: "client_secret_file", env: "M365SEND_CLIENT_SECRET_FILE", credential: true},
		{name: "client_secret_command", credential: true},
		{name: "certificate_file", env: "AZURE_CLIENT_CERTIFICATE_PATH", credential: true},
		{name: "federated_token_file", env: "AZURE_FEDERATED_TOKEN_FILE", credential: true},
		{name: "mailbox", env: "M365SEND_MAILBOX"},
		{name: "from_name", env: "M365SEND_FROM_NAME"},
		{name: "cloud", env: "M365SEND_CLOUD"},
		{name: "smtp_host", env: "M365SEND_SMTP_HOST"},
		{name: "smtp_port", env: "M365SEND_SMTP_PORT"},
		{name: "authority_host", env: "M365SEND_AUTHORITY_HOST"},
		{name: "ca_file", env: "M365SEND_CA_FILE"},
		{name: "rate_per_minute", env: "M365SEND_RATE_PER_MINUTE"},
		{name: "cache_dir", env: "M365SEND_CACHE_DIR"},
	}
}

func keyNames() []string {
	var names []string
	for _, k := range profileKeys() {
		names = append(names, k.name)
	}
	return names
}

func isCredential(key string) bool {
	if key == secretKey {
		return true
	}
	for _, k := range profileKeys() {
		if k.name == key {
			return k.credential
		}
	}
	return false
}

// fileData is the TOML file.
type fileData struct {
	DefaultProfile string                 `toml:"default_profile"`
	Profiles       map[string]fileProfile `toml:"profiles"`
}

// fileProfile is one [profiles.NAME] table.
type fileProfile struct {
	Flow                string   `toml:"flow"`
	Tenant              string   `toml:"tenant"`
	ClientID            string   `toml:"client_id"`
	ClientSecretEnv     string   `toml:"client_secret_env"`
	ClientSecretFile    string   `toml:"client_secret_file"`
	ClientSecretCommand []string `toml:"client_secret_command"`
	CertificateFile     string   `toml:"certificate_file"`
	FederatedTokenFile  string   `toml:"federated_token_file"`
	Mailbox             string   `toml:"mailbox"`
	FromName            string   `toml:"from_name"`
	Cloud               string   `toml:"cloud"`
	SMTPHost            string   `toml:"smtp_host"`
	SMTPPort            int      `toml:"smtp_port"`
	AuthorityHost       string   `toml:"authority_host"`
	CAFile              string   `toml:"ca_file"`
	RatePerMinute       int      `toml:"rate_per_minute"`
	CacheDir            string   `toml:"cache_dir"`
}

// value returns the file's value for key as a string (or argv).
func (fp *fileProfile) value(key string) (string, []string) {
	switch key {
	case "flow":
		return fp.Flow, nil
	case "tenant":
		return fp.Tenant, nil
	case "client_id":
		return fp.ClientID, nil
	case "client_secret_env":
		return fp.ClientSecretEnv, nil
	case "client_secret_file":
		return fp.ClientSecretFile, nil
	case "client_secret_command":
		return "", fp.ClientSecretCommand
	case "certificate_file":
		return fp.CertificateFile, nil
	case "federated_token_file":
		return fp.FederatedTokenFile, nil
	case "mailbox":
		return fp.Mailbox, nil
	case "from_name":
		return fp.FromName, nil
	case "cloud":
		return fp.Cloud, nil
	case "smtp_host":
		return fp.SMTPHost, nil
	case "smtp_port":
		return strconv.Itoa(fp.SMTPPort), nil
	case "authority_host":
		return fp.AuthorityHost, nil
	case "ca_file":
		return fp.CAFile, nil
	case "rate_per_minute":
		return strconv.Itoa(fp.RatePerMinute), nil
	case "cache_dir":
		return fp.CacheDir, nil
	}
	return "", nil
}

// loaded is a parsed configuration file.
type loaded struct {
	path  string
	data  fileData
	md    toml.MetaData
	lines map[string]int // dotted key → line
}

func (l *loaded) origin(key ...string) origin {
	k := strings.Join(key, ".")
	return origin{layer: layerFile, file: l.path, line: l.lines[k], key: k}
}

// Load reads, merges and validates the selected profile. A missing file is
// fine when the environment supplies the profile.
func Load(opts LoadOptions) (*Profile, error) {
	env := opts.Env
	if env == nil {
		env = func(string) string { return "" }
	}

	if err := checkEnviron(opts.Environ); err != nil {
		return nil, err
	}

	path, explicit := configPath(opts.File, env)
	var file *loaded
	if path != "" {
		f, err := readFile(path, explicit)
		var ce *Error
		if errors.As(err, &ce) && opts.File != "" && errors.Is(ce.Err, fs.ErrNotExist) {
			ce.usage = true // the caller named a file that is not there
		}
		if err != nil {
			return nil, err
		}
		file = f
	}

	name, err := selectProfile(opts.Profile, env, file)
	if err != nil {
		return nil, err
	}

	set := map[string]setting{}
	// Layer 1: the file.
	if file != nil {
		if fp, ok := file.data.Profiles[name]; ok {
			var layer []string
			for _, k := range profileKeys() {
				if !file.md.IsDefined("profiles", name, k.name) {
					continue
				}
				v, argv := fp.value(k.name)
				layer = append(layer, k.name)
				set[k.name] = setting{val: v, argv: argv, from: file.origin("profiles", name, k.name)}
			}
			if err := checkCredentialLayer(set, layer); err != nil {
				return nil, err
			}
		}
	}
	// Layer 2: the environment.
	var envLayer []string
	envSet := map[string]setting{}
	for _, k := range profileKeys() {
		if k.env == "" {
			continue
		}
		if v := env(k.env); v != "" {
			envSet[k.name] = setting{val: v, from: origin{layer: layerEnv, key: k.env}}
			envLayer = append(envLayer, k.name)
		}
	}
	if v := env("AZURE_CLIENT_SECRET"); v != "" {
		envSet[secretKey] = setting{val: v, from: origin{layer: layerEnv, key: "AZURE_CLIENT_SECRET"}}
		envLayer = append(envLayer, secretKey)
	}
	if err := overlay(set, envSet, envLayer); err != nil {
		return nil, err
	}
	// Layer 3: flags.
	var flagLayer []string
	flagSet := map[string]setting{}
	okKeys := map[string]bool{}
	for _, k := range keyNames() {
		okKeys[k] = true
	}
	over := make([]string, 0, len(opts.Overrides))
	for k := range opts.Overrides {
		over = append(over, k)
	}
	sort.Strings(over)
	for _, k := range over {
		v := opts.Overrides[k]
		flag := "--" + strings.ReplaceAll(k, "_", "-")
		if !okKeys[k] || k == "client_secret_command" {
			return nil, &Error{Key: flag, Msg: fmt.Sprintf("no configuration key %q can be set from a flag", k)}
		}
		if v == "" {
			continue
		}
		flagSet[k] = setting{val: v, from: origin{layer: layerFlag, key: flag}}
		flagLayer = append(flagLayer, k)
	}
	if err := overlay(set, flagSet, flagLayer); err != nil {
		return nil, err
	}

	p, err := build(name, file, set, env)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// overlay puts layer's settings over set. A layer that names a client
// credential replaces every credential of the layers below it, so that,
// say, AZURE_CLIENT_CERTIFICATE_PATH overrides a file's client_secret_env.
func overlay(set, layer map[string]setting, keys []string) error {
	if err := checkCredentialLayer(layer, keys); err != nil {
		return err
	}
	for _, k := range keys {
		if isCredential(k) {
			for old := range set {
				if isCredential(old) {
					delete(set, old)
				}
			}
			break
		}
	}
	for _, k := range keys {
		set[k] = layer[k]
	}
	return nil
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
	o := b.from
	return errorf(o, "keep exactly one; a certificate (certificate_file) is preferred over a secret",
		"%s both set (%s and %s)", what, a.from.key, b.from.key)
}

func isSecretKey(k string) bool {
	return k == secretKey || strings.HasPrefix(k, "client_secret")
}

// configPath returns the file to read and whether the user named it (a
// named file must exist; the default one may be absent).
func configPath(flag string, env func(string) string) (string, bool) {
	if flag != "" {
		return flag, true
	}
	if p := env("M365SEND_CONFIG"); p != "" {
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
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: shownPath(path), Msg: fmt.Sprintf("cannot read configuration: %v", unwrapPathError(err)),
			Advice: "check --config / $M365SEND_CONFIG, or create the file (see `m365send help send`)", Err: err}
	}
	if fi.IsDir() {
		return nil, &Error{File: path, Msg: "is a directory, not a configuration file"}
	}
	if err := checkPrivate(path, fi, "configuration file"); err != nil {
		return nil, err
	}
	if err := checkDirs(path); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read configuration: %v", unwrapPathError(err)), Err: err}
	}
	l := &loaded{path: path, lines: keyLines(raw)}
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&l.data)
	if err != nil {
		return nil, tomlError(path, err)
	}
	l.md = md
	if err := l.checkKeys(); err != nil {
		return nil, err
	}
	return l, nil
}

// checkPrivate refuses a file that group or others can access.
func checkPrivate(path string, fi fs.FileInfo, what string) error {
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return &Error{File: path,
		Msg:    fmt.Sprintf("%s is accessible by group or others (mode %04o)", what, fi.Mode().Perm()),
		Advice: "chmod 600 " + ShellQuote(path)}
}

// checkDirs refuses a file under a directory that others can write
// without the sticky bit: anyone could replace the file (or a directory
// on its way) with their own. It checks every directory from the file's
// up to the root, for the path as given and with symlinks resolved.
func checkDirs(path string) error {
	paths := []string{path}
	if abs, err := filepath.Abs(path); err == nil {
		paths[0] = abs
	}
	if real, err := filepath.EvalSymlinks(paths[0]); err == nil && real != paths[0] {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			fi, err := os.Stat(dir)
			if err == nil && fi.Mode().Perm()&0o002 != 0 && fi.Mode()&fs.ModeSticky == 0 {
				return &Error{File: path,
					Msg:    fmt.Sprintf("configuration file is in %s, a directory others can write (mode %04o): they could replace the file", dir, fi.Mode().Perm()),
					Advice: "chmod o-w " + ShellQuote(dir)}
			}
			if parent := filepath.Dir(dir); parent == dir {
				break
			}
		}
	}
	return nil
}

// ShellQuote quotes s for a POSIX shell when it needs it (for commands
// shown in hints): s itself when it is only letters, digits and
// /._-+:@%,=, else s in single quotes.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var typeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// tomlError turns a decoder error into an *Error with the file, line and
// key.
func tomlError(path string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message, Advice: pe.Usage, Err: err}
	}
	if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg := m[3]
		if strings.Contains(msg, "incompatible types") {
			msg = "wrong type: " + strings.TrimPrefix(msg, "incompatible types: ")
		}
		return &Error{File: path, Line: line, Key: m[2], Msg: msg, Err: err}
	}
	return &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: "), Err: err}
}

// checkKeys refuses keys the program does not know, with a suggestion, and
// secrets written into the file.
func (l *loaded) checkKeys() error {
	for _, k := range l.md.Undecoded() {
		o := l.origin(k...)
		last := k[len(k)-1]
		// A near miss of a known key is a typo first: client_secret_fiel
		// wants "did you mean client_secret_file", not the advice for a
		// secret written into the file.
		if len(k) == 3 && k[0] == "profiles" {
			// Stricter than typoLimit: a short near miss such as
			// client_secret is a secret written into the file first.
			if hint := didYouMean(last, keyNames(), min(2, len(last)/3-1)); hint != "" {
				return errorf(o, hint, "unknown key")
			}
		}
		if looksSecret(last) {
			return errorf(o, "put the secret in an environment variable, a 0600 file or a command: use client_secret_env, client_secret_file or client_secret_command",
				"secrets never sit in the TOML; use client_secret_env/_file/_command")
		}
		switch {
		case len(k) == 1:
			hint := didYouMean(last, []string{"default_profile", "profiles"}, typoLimit(last))
			if hint == "" {
				hint = "top-level keys are default_profile and [profiles.NAME] tables"
			}
			return errorf(o, hint, "unknown key")
		case len(k) == 3 && k[0] == "profiles":
			hint := didYouMean(last, keyNames(), typoLimit(last))
			if hint == "" {
				hint = "known keys: " + strings.Join(keyNames(), ", ")
			}
			return errorf(o, hint, "unknown key")
		default:
			return errorf(o, "profiles are flat tables: [profiles.NAME] with key = value lines", "unknown key")
		}
	}
	return nil
}

// looksSecret reports whether an unknown key looks like a literal secret.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"secret", "password", "passwd", "token", "private_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// selectProfile picks the profile name: --profile, $M365SEND_PROFILE, the
// file's default_profile, then "default".
func selectProfile(flag string, env func(string) string, file *loaded) (string, error) {
	var name string
	var from origin
	switch {
	case flag != "":
		name, from = flag, origin{layer: layerFlag, key: "--profile"}
	case env("M365SEND_PROFILE") != "":
		name, from = env("M365SEND_PROFILE"), origin{layer: layerEnv, key: "M365SEND_PROFILE"}
	case file != nil && file.data.DefaultProfile != "":
		name, from = file.data.DefaultProfile, file.origin("default_profile")
	default:
		return DefaultProfileName, nil
	}
	if file == nil {
		return name, nil
	}
	if _, ok := file.data.Profiles[name]; ok {
		return name, nil
	}
	names := file.profileNames()
	hint := didYouMean(name, names, typoLimit(name))
	if hint == "" && len(names) > 0 {
		hint = "profiles in " + file.path + ": " + strings.Join(names, ", ")
	}
	if hint == "" {
		hint = "add a [profiles." + name + "] table"
	}
	e := errorf(from, hint, "no profile %s in %s", shown(name), file.path)
	e.usage = from.layer == layerFlag
	if from.layer != layerFile {
		e.File, e.Line = "", 0
	}
	return "", e
}

func (l *loaded) profileNames() []string {
	var names []string
	for n := range l.data.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var headerRE = regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$`)
var keyRE = regexp.MustCompile(`^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=`)

// keyLines maps each dotted key (and table) of a TOML document to the line
// it is defined on, for error messages: the decoder does not expose key
// positions. Multi-line values are skipped over roughly; a key it cannot
// place gets no line number, nothing worse.
func keyLines(raw []byte) map[string]int {
	lines := map[string]int{}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	inMulti := ""
	for sc.Scan() {
		n++
		line := sc.Text()
		if inMulti != "" {
			if strings.Contains(line, inMulti) {
				inMulti = ""
			}
			continue
		}
		if m := headerRE.FindStringSubmatch(line); m != nil {
			table = joinKey(m[1])
			if _, ok := lines[table]; !ok {
				lines[table] = n
			}
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			k := joinKey(m[1])
			if table != "" {
				k = table + "." + k
			}
			if _, ok := lines[k]; !ok {
				lines[k] = n
			}
			rest := line[len(m[0]):]
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(rest, q) == 1 {
					inMulti = q
				}
			}
		}
	}
	return lines
}

// joinKey normalises a dotted TOML key: unquoted parts joined by dots.
func joinKey(k string) string {
	var parts []string
	for len(k) > 0 {
		k = strings.TrimSpace(k)
		var part string
		switch {
		case strings.HasPrefix(k, `"`) || strings.HasPrefix(k, `'`):
			end := strings.IndexByte(k[1:], k[0])
			if end < 0 {
				return k
			}
			part, k = k[1:end+1], k[end+2:]
		default:
			end := strings.IndexByte(k, '.')
			if end < 0 {
				end = len(k)
			}
			part, k = strings.TrimSpace(k[:end]), k[end:]
		}
		parts = append(parts, part)
		k = strings.TrimSpace(k)
		k = strings.TrimPrefix(k, ".")
	}
	return strings.Join(parts, ".")
}

// envPrefix starts every environment variable of the program's own.
const envPrefix = "M365SEND_"

// azureVars are the azidentity variables the program reads.
func azureVars() []string {
	return []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE"}
}

// programVars are the M365SEND_* variables the program reads.
func programVars() []string {
	vars := []string{"M365SEND_CONFIG", "M365SEND_PROFILE"}
	for _, k := range profileKeys() {
		if strings.HasPrefix(k.env, envPrefix) {
			vars = append(vars, k.env)
		}
	}
	return vars
}

// checkEnviron refuses an M365SEND_* variable (any case) that the program
// does not read, suggesting the one probably meant. Its value is never
// shown.
func checkEnviron(environ []string) error {
	known := programVars()
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || len(name) < len(envPrefix) || !strings.EqualFold(name[:len(envPrefix)], envPrefix) || contains(known, name) {
			continue
		}
		var guesses []string
		if g := closestVar(name, known); g != "" {
			guesses = append(guesses, g)
		}
		if g := closestVar(name, azureVars()); g != "" {
			guesses = append(guesses, g)
		}
		hint := "known: " + strings.Join(known, ", ") + ", and " + strings.Join(azureVars(), ", ")
		if len(guesses) > 0 {
			hint = "did you mean " + strings.Join(guesses, ", or ") + "?"
		}
		return &Error{Key: name, Msg: "unknown environment variable: m365send reads no variable of this name", Advice: hint}
	}
	return nil
}

// closestVar returns the variable in vars whose name after its prefix
// (M365SEND_, AZURE_) is closest to name's, or "" when none is a likely
// typo or shortening of it.
func closestVar(name string, vars []string) string {
	suffix := func(v string) string {
		_, s, _ := strings.Cut(strings.ToUpper(v), "_")
		if strings.HasPrefix(strings.ToUpper(v), envPrefix) {
			s = strings.ToUpper(v)[len(envPrefix):]
		}
		return s
	}
	want := suffix(name)
	return closest(want, vars, typoLimit(want), func(want, v string) int {
		have := suffix(v)
		if strings.HasPrefix(have, want+"_") {
			return 1 // a shortened name, such as CLIENT_SECRET for CLIENT_SECRET_FILE
		}
		return editDistance(want, have)
	})
}
