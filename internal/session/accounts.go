package session

import (
	"context"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/keyring"
	"github.com/m365send/m365send/token"
)

// AccessToken returns a valid access token of the profile opts select,
// for its Exchange Online resource (`m365send token`): from the cache
// while enough of it remains, else from Entra ID. No sender is made.
func AccessToken(ctx context.Context, opts Options) (string, error) {
	opts.NoSender = true
	s, err := Open(ctx, opts)
	if err != nil {
		return "", err
	}
	tok, err := s.Tokens.TokenContext(ctx)
	if err != nil {
		return "", s.Explain(err)
	}
	return tok.AccessToken, nil
}

// Logout removes every cached token of the profile opts select
// (`m365send logout`): its cache (in the OS keyring or its file) and a
// cache not yet moved from the old folder, which would come back. It
// needs only the profile, no credential: a broken secret command must not
// stand in the way. warn is a warning to show (the keyring the profile
// asks for is missing), or "".
func Logout(ctx context.Context, opts Options) (p *config.Profile, warn string, err error) {
	p, err = LoadProfile(opts)
	if err != nil {
		return nil, "", err
	}
	k, warn := p.TokenKeyring()
	if err := token.ForgetIn(ctx, p.CacheFile(), k, keyring.TokenAccount(p.Name)); err != nil {
		return nil, warn, err
	}
	if err := token.Forget(ctx, p.LegacyCacheFile()); err != nil {
		return nil, warn, err
	}
	return p, warn, nil
}

// StoreSecret stores a client secret in the OS keyring for the profile
// opts select (`m365send secret set`): read gets the secret once the
// profile has loaded (with the profile's name, to ask for it by name).
// The profile's ClientSecretKeyring says whether it reads its secret from
// the keyring yet.
func StoreSecret(ctx context.Context, opts Options, read func(profile string) (string, error)) (*config.Profile, error) {
	p, err := LoadProfile(opts)
	if err != nil {
		return nil, err
	}
	secret, err := read(p.Name)
	if err != nil {
		return nil, err
	}
	return p, p.Keyring().Set(ctx, keyring.SecretAccount(p.Name), secret)
}

// DeleteSecret removes the client secret of the profile opts select from
// the OS keyring (`m365send secret delete`).
func DeleteSecret(ctx context.Context, opts Options) error {
	p, err := LoadProfile(opts)
	if err != nil {
		return err
	}
	return p.Keyring().Delete(ctx, keyring.SecretAccount(p.Name))
}

// ProfileNames returns the names of the profiles in the configuration
// file opts select that start with prefix, for completing --profile;
// none when the file cannot be read.
func ProfileNames(opts Options, prefix string) []string {
	g, err := config.LoadGlobals(config.LoadOptions{File: opts.ConfigFile, Env: opts.Getenv})
	if err != nil {
		return nil
	}
	var names []string
	for _, n := range g.Profiles {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names
}
