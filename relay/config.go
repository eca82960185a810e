package relay

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/relpath"
	"github.com/m365send/m365send/relay/passwordhash"
)

// Defaults of the [relay] table.
const (
	// DefaultListen is the listener used when the table names none: the
	// loopback interface only.
	DefaultListen = "127.0.0.1:2525"
	// DefaultMaxSize is the largest message accepted, in bytes: Exchange
	// Online's default limit of 35 MB (docs/microsoft.md).
	DefaultMaxSize = 35 * 1024 * 1024
	// DefaultMaxRecipients is the most recipients one message may have,
	// Exchange Online's limit per message.
	DefaultMaxRecipients = 500
	// DefaultMaxConnectionsPerClient is the most connections one client
	// address may hold open at once.
	DefaultMaxConnectionsPerClient = 20
	// DefaultTimeout bounds the wait for each command or reply line
	// (RFC 5321 section 4.5.3.2 asks for at least 5 minutes).
	DefaultTimeout = 5 * time.Minute
	// DefaultMinTLS is the lowest TLS version a listener accepts unless
	// its min_tls says otherwise.
	DefaultMinTLS = "1.2"
)

// Config is the [relay] table of the configuration file.
type Config struct {
	// Listen are addresses (host:port) of STARTTLS listeners with default
	// settings. With no listener at all, DefaultListen is used.
	Listen []string `toml:"listen"`
	// ListenTLS are addresses of implicit-TLS listeners (port 465 style)
	// with default settings.
	ListenTLS []string `toml:"listen_tls"`
	// Listeners are listeners with their own settings ([[relay.listeners]]).
	// After Decode, it holds every listener, Listen and ListenTLS included.
	Listeners []Listener `toml:"listeners"`
	// Hostname is the name the relay gives in its greeting and in a
	// generated certificate (default: the machine's host name).
	Hostname string `toml:"hostname"`
	// TLSCertFile and TLSKeyFile are a PEM certificate chain and its key.
	// When both are empty a self-signed certificate is generated on first
	// start and kept in the state folder (see Certificate). Decode resolves
	// them as every path in the file is (internal/relpath): relative to the
	// file's folder, "~/" the home folder.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// MaxSize is the largest message accepted, in bytes (SIZE).
	MaxSize int64 `toml:"max_size"`
	// MaxRecipients is the most recipients a message may have.
	MaxRecipients int `toml:"max_recipients"`
	// MaxConnectionsPerClient is the most connections one client address
	// may hold open at once.
	MaxConnectionsPerClient int `toml:"max_connections_per_client"`
	// ReadTimeout and WriteTimeout bound each read of a command line (or
	// of message data) and each write of a reply ("5m").
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	// ShutdownGrace is how long, after SIGTERM, the transactions in
	// progress may take to finish (DefaultGrace); idle sessions are
	// closed at once.
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// Users are the clients that authenticate ([[relay.users]]).
	Users []User `toml:"users"`
	// Networks are the client networks that may send without
	// authenticating ([[relay.networks]]).
	Networks []Network `toml:"networks"`
	// MetricsListen is the host:port of the Prometheus metrics and
	// /healthz listener (package internal/metrics), or "" for none.
	MetricsListen string `toml:"metrics_listen"`
}

// Listener is one listening address with its settings.
type Listener struct {
	// Address is host:port.
	Address string `toml:"address"`
	// ImplicitTLS makes the listener speak TLS from the first byte (as on
	// port 465) instead of offering STARTTLS.
	ImplicitTLS bool `toml:"implicit_tls"`
	// MinTLS is the lowest TLS version accepted: "1.0", "1.1", "1.2"
	// (default) or "1.3". Lower it only for an old device that needs it.
	MinTLS string `toml:"min_tls"`
	// AllowPlaintextAuth names networks (of [[relay.networks]]) whose
	// clients may use AUTH without TLS on this listener. Their passwords
	// cross the network in clear text.
	AllowPlaintextAuth []string `toml:"allow_plaintext_auth"`
}

// Grant says which profiles a user or network may send as.
type Grant struct {
	// Profiles are the configuration profiles it may send as. A message
	// goes out through the profile whose mailbox is its envelope sender.
	Profiles []string `toml:"profiles"`
	// Senders are further envelope senders it may use: an address, or
	// "@domain" for every address of a domain. Such a message goes out
	// through the first of Profiles.
	Senders []string `toml:"senders"`
	// RewriteFrom names one of Profiles: every message, whatever its
	// sender, goes out through it, with the profile's mailbox as envelope
	// sender and in the From header (for devices with a fixed From).
	RewriteFrom string `toml:"rewrite_from"`
}

// User is a client that authenticates with AUTH PLAIN or LOGIN.
type User struct {
	// Name is the user name the client gives.
	Name string `toml:"name"`
	// PasswordHash is the password as an argon2id PHC string, as made by
	// HashPassword (`m365send relay passwd`).
	PasswordHash string `toml:"password_hash"`
	Grant
}

// Network is a set of client addresses that may send without
// authenticating, the way an Exchange connector relays by IP address.
type Network struct {
	// Name names the network, for allow_plaintext_auth and logs.
	Name string `toml:"name"`
	// CIDR are its address ranges ("192.0.2.0/24", "2001:db8::/32", or a
	// single address).
	CIDR []string `toml:"cidr"`
	Grant

	prefixes []netip.Prefix
}

// Duration is a time.Duration written as a string ("90s", "5m").
type Duration time.Duration

// UnmarshalText parses a duration such as "5m".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (like \"5m\" or \"90s\"): %q", b)
	}
	if v <= 0 {
		return fmt.Errorf("duration must be positive: %q", b)
	}
	*d = Duration(v)
	return nil
}

// Decode reads the [relay] table of a configuration file (the other tables
// are ignored), resolves its paths against path's folder and fills in the
// defaults. A file without the table gives the default configuration. It
// does not check the values: see Check.
func Decode(path string, raw []byte) (*Config, error) {
	var doc struct {
		Relay Config `toml:"relay"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&doc)
	if err != nil {
		return nil, failure.Wrap(failure.Config, fmt.Errorf("%s: [relay]: %w", path, err), "")
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "relay" {
			return nil, failure.New(failure.Config, fmt.Sprintf("%s: unknown key %s", path, k), "check the spelling; the keys of [relay] are listen, listen_tls, listeners, hostname, tls_cert_file, tls_key_file, max_size, max_recipients, max_connections_per_client, read_timeout, write_timeout, shutdown_grace, users, networks, metrics_listen")
		}
	}
	c := &doc.Relay
	home, _ := os.UserHomeDir()
	dir := filepath.Dir(path)
	c.TLSCertFile = relpath.Resolve(c.TLSCertFile, dir, home)
	c.TLSKeyFile = relpath.Resolve(c.TLSKeyFile, dir, home)
	c.setDefaults()
	return c, nil
}

// Load reads the configuration file path and decodes its [relay] table.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, failure.Wrap(failure.Config, fmt.Errorf("relay: %w", err), "")
	}
	return Decode(path, raw)
}

func (c *Config) setDefaults() {
	for _, a := range c.Listen {
		c.Listeners = append(c.Listeners, Listener{Address: a})
	}
	for _, a := range c.ListenTLS {
		c.Listeners = append(c.Listeners, Listener{Address: a, ImplicitTLS: true})
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []Listener{{Address: DefaultListen}}
	}
	c.Listen, c.ListenTLS = nil, nil
	for i := range c.Listeners {
		if c.Listeners[i].MinTLS == "" {
			c.Listeners[i].MinTLS = DefaultMinTLS
		}
	}
	if c.Hostname == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Hostname = h
		} else {
			c.Hostname = "localhost"
		}
	}
	if c.MaxSize == 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.MaxConnectionsPerClient == 0 {
		c.MaxConnectionsPerClient = DefaultMaxConnectionsPerClient
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = Duration(DefaultTimeout)
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = Duration(DefaultTimeout)
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(DefaultGrace)
	}
}

var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// Check reports every mistake in c (decoded by Decode) as one error of
// kind Config, or nil. profiles are the names of the profiles the
// configuration defines. Check reads the certificate files but does not
// listen.
func Check(c *Config, profiles []string) error {
	var errs []error
	bad := func(hint, format string, a ...any) {
		errs = append(errs, failure.New(failure.Config, "relay: "+fmt.Sprintf(format, a...), hint))
	}
	networks := map[string]bool{}
	for i := range c.Networks {
		n := &c.Networks[i]
		if n.Name == "" {
			bad("give each [[relay.networks]] a name", "network %d has no name", i+1)
		} else if networks[n.Name] {
			bad("", "network %q is defined twice", n.Name)
		}
		networks[n.Name] = true
		if len(n.CIDR) == 0 {
			bad("", "network %q has no cidr", n.Name)
		}
		for _, s := range n.CIDR {
			p, err := parsePrefix(s)
			if err != nil {
				bad("write an address range like \"192.0.2.0/24\"", "network %q: %v", n.Name, err)
				continue
			}
			if p.Bits() == 0 {
				bad("name the devices' own range", "network %q: cidr %s lets every address on the internet send: that is an open relay", n.Name, s)
			}
		}
		checkGrant(bad, "network "+quote(n.Name), n.Grant, profiles)
	}
	users := map[string]bool{}
	for i, u := range c.Users {
		if u.Name == "" {
			bad("", "user %d has no name", i+1)
		} else if users[u.Name] {
			bad("", "user %q is defined twice", u.Name)
		}
		users[u.Name] = true
		if u.PasswordHash == "" {
			bad("make one with `m365send relay passwd`", "user %q has no password_hash", u.Name)
		} else if _, err := passwordhash.Parse(u.PasswordHash); err != nil {
			bad("password_hash takes the argon2id hash that `m365send relay passwd` prints, never the password itself", "user %q: password_hash is not an argon2id hash", u.Name)
		}
		checkGrant(bad, "user "+quote(u.Name), u.Grant, profiles)
	}
	for _, l := range c.Listeners {
		host, _, err := net.SplitHostPort(l.Address)
		if err != nil {
			bad("write host:port, like \"127.0.0.1:2525\"", "listener %q: %v", l.Address, err)
			continue
		}
		if _, ok := tlsVersions[l.MinTLS]; !ok {
			bad("use \"1.0\", \"1.1\", \"1.2\" or \"1.3\"", "listener %q: unknown min_tls %q", l.Address, l.MinTLS)
		}
		for _, n := range l.AllowPlaintextAuth {
			if !networks[n] {
				bad("allow_plaintext_auth lists names of [[relay.networks]]", "listener %q: allow_plaintext_auth names unknown network %q", l.Address, n)
			}
		}
		if !loopbackHost(host) && len(c.Users) == 0 && len(c.Networks) == 0 {
			bad("add [[relay.users]] or [[relay.networks]], or listen on 127.0.0.1 only", "listener %q is reachable from other machines but no user or network is configured: it would be an open relay", l.Address)
		}
	}
	if _, _, err := net.SplitHostPort(c.MetricsListen); c.MetricsListen != "" && err != nil {
		bad("write host:port, like \"127.0.0.1:9465\"", "metrics_listen %q: %v", c.MetricsListen, err)
	}
	switch {
	case c.TLSCertFile == "" && c.TLSKeyFile == "":
	case c.TLSCertFile == "" || c.TLSKeyFile == "":
		bad("set both tls_cert_file and tls_key_file, or neither for a generated certificate", "only one of tls_cert_file and tls_key_file is set")
	default:
		if _, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile); err != nil {
			bad("tls_cert_file and tls_key_file must be a readable PEM certificate and its key", "certificate: %v", err)
		}
	}
	if c.MaxSize < 0 {
		bad("", "max_size must be positive")
	}
	if c.MaxRecipients < 0 {
		bad("", "max_recipients must be positive")
	}
	if c.MaxConnectionsPerClient < 0 {
		bad("", "max_connections_per_client must be positive")
	}
	return errors.Join(errs...)
}

func checkGrant(bad func(hint, format string, a ...any), who string, g Grant, profiles []string) {
	if len(g.Profiles) == 0 {
		bad("list the profiles it may send as: profiles = [\"NAME\"]", "%s has no profiles", who)
	}
	for _, p := range g.Profiles {
		if !slices.Contains(profiles, p) {
			bad("profiles name [profiles.NAME] tables of the configuration file", "%s: profile %q does not exist", who, p)
		}
	}
	if g.RewriteFrom != "" && !slices.Contains(g.Profiles, g.RewriteFrom) {
		bad("rewrite_from names one of its profiles", "%s: rewrite_from %q is not one of its profiles", who, g.RewriteFrom)
	}
	for _, s := range g.Senders {
		if !strings.Contains(s, "@") {
			bad("a sender is an address or @domain", "%s: sender %q is not an address", who, s)
		}
	}
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// parsePrefix parses a CIDR range or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad cidr %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad cidr %q", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// loopbackHost reports whether a listener on host is reachable only from
// this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
