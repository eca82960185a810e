// Package config loads m365send profiles: a TOML file with one table per
// profile, overlaid by the environment (azidentity's variable names where
// they overlap) and then by flags; it validates them and resolves secrets
// from an environment variable, a file or a command.
//
// API CONTRACT (skeleton): the exported names below are what the CLI builds
// against. Bodies are filled in by the CLI issue (#4).
package config

import (
	"context"
	"errors"
)

// Profile is one fully merged, validated profile.
type Profile struct {
	Name string

	Flow     string // client_credentials | device_code
	Tenant   string
	ClientID string

	ClientSecretEnv     string
	ClientSecretFile    string
	ClientSecretCommand []string // argv, run without a shell
	CertificateFile     string
	FederatedTokenFile  string

	Mailbox  string
	FromName string

	Cloud         string // global | usgov | usgovdod | china
	SMTPHost      string // "" means the cloud's
	SMTPPort      int    // 0 means 587
	AuthorityHost string // "" means the cloud's
	CAFile        string

	RatePerMinute int
	// CacheDir holds the token cache files (one per profile).
	CacheDir string

	// clientSecret holds AZURE_CLIENT_SECRET when that is where the secret
	// came from; it is never printed.
}

// LoadOptions says where to look. Env is required (os.Getenv in main, a map
// in tests) so that nothing reads the process environment behind the
// caller's back.
type LoadOptions struct {
	File      string              // --config; "" means $M365SEND_CONFIG, then $XDG_CONFIG_HOME/m365send/config.toml
	Profile   string              // --profile; "" means $M365SEND_PROFILE, then default_profile
	Env       func(string) string // environment lookup
	Overrides map[string]string   // flag values by config key (e.g. "mailbox")
}

// Load reads, merges and validates the selected profile. A missing file is
// fine when the environment supplies the profile.
func Load(opts LoadOptions) (*Profile, error) { return nil, errors.New("not implemented") }

// Secret resolves the client secret (environment variable, file, or
// command), or "" when the profile uses a certificate, a federated token or
// the device code.
func (p *Profile) Secret(ctx context.Context) (string, error) {
	return "", errors.New("not implemented")
}

// Error is a configuration problem, naming the file, line and key where
// known, and what to do.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
	Hint string
}

func (e *Error) Error() string { return "not implemented" }
