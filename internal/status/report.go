package status

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/keyring"
)

// Exit codes of `m365send status`: the worst profile's (docs/commands.md).
const (
	// CodeOK: every profile is fine.
	CodeOK = 0
	// CodeAccessTokenExpired: a cached access token has expired. Nothing
	// to do: the next use gets a new one (with the refresh token, or the
	// client credential).
	CodeAccessTokenExpired = 1
	// CodeSoon: act soon: a refresh token is near the end of its
	// inactivity lifetime, or a certificate near its expiry.
	CodeSoon = 2
	// CodeSignInRequired: act now: a person must sign in (never signed
	// in, revoked, expired), or the profile cannot get tokens (a
	// configuration error, an expired certificate).
	CodeSignInRequired = 3
)

// RefreshInactivity is how long Entra ID keeps a refresh token that is not
// used (docs/microsoft.md); RefreshWarnAfter is when status starts
// warning, a third of it before the end.
const (
	RefreshInactivity = 90 * 24 * time.Hour
	RefreshWarnAfter  = 60 * 24 * time.Hour
	// CertificateWarn is how long before a certificate's expiry status
	// warns.
	CertificateWarn = 30 * 24 * time.Hour
)

// Profile is one profile's health, as `status --json` prints it.
type Profile struct {
	// Name is the profile's name.
	Name string `json:"profile"`
	// State is ok, access_token_expired, attention or sign_in_required.
	State string `json:"state"`
	// Code is the exit code this profile alone would give.
	Code int `json:"code"`
	// Flow is the profile's flow.
	Flow string `json:"flow,omitempty"`
	// Account is the signed-in person (device code) or the mailbox.
	Account string `json:"account,omitempty"`
	// Credential says where the client credential comes from.
	Credential string `json:"credential,omitempty"`
	// TokenCache is the file that keeps the sign-in and tokens (with
	// TokenStore "keyring": its lock and health record; the content is in
	// the OS keyring).
	TokenCache string `json:"token_cache,omitempty"`
	// TokenStore is "keyring" when the cache's content is in the OS
	// keyring (token_store = "keyring"), else empty.
	TokenStore string `json:"token_store,omitempty"`
	// AccessTokenExpires is the latest cached access token's expiry.
	AccessTokenExpires *time.Time `json:"access_token_expires,omitempty"`
	// RefreshToken says whether the cache holds a refresh token.
	RefreshToken bool `json:"refresh_token"`
	// RefreshTokenUsed is when the refresh token was last redeemed or
	// issued (rotated); RefreshTokenEnds is when it ends if not used.
	RefreshTokenUsed *time.Time `json:"refresh_token_last_used,omitempty"`
	RefreshTokenEnds *time.Time `json:"refresh_token_ends_if_unused,omitempty"`
	// SignedIn is when a person last signed in.
	SignedIn *time.Time `json:"signed_in,omitempty"`
	// LastSend is when a send through the profile last succeeded.
	LastSend *time.Time `json:"last_send,omitempty"`
	// CertificateExpires is the certificate's NotAfter (a PEM file's).
	CertificateExpires *time.Time `json:"certificate_expires,omitempty"`
	// Warnings say what needs attention and what to do.
	Warnings []string `json:"warnings,omitempty"`
}

// Report is every profile's health and the exit code.
type Report struct {
	// Profiles are the profiles, in the file's order (sorted names).
	Profiles []Profile `json:"profiles"`
	// Code is the worst profile's Code: status's exit code.
	Code int `json:"code"`
}

// Options chooses the profiles Check looks at.
type Options struct {
	// ConfigFile is config.LoadOptions.File.
	ConfigFile string
	// Env is config.LoadOptions.Env.
	Env func(string) string
	// Environ is config.LoadOptions.Environ.
	Environ []string
	// Profile, if set, limits the report to this profile.
	Profile string
	// Now is the clock (zero: time.Now).
	Now time.Time
}

// Check reports on every profile of the configuration file (or only
// opts.Profile; or, with no file, the profile the environment makes).
// Only a file that cannot be read at all is an error: a profile that
// does not load is reported as needing action.
func Check(opts Options) (*Report, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC()
	lo := config.LoadOptions{File: opts.ConfigFile, Env: opts.Env, Environ: opts.Environ}
	names := []string{opts.Profile}
	if opts.Profile == "" {
		g, err := config.LoadGlobals(lo)
		if err != nil {
			return nil, err
		}
		if len(g.Profiles) > 0 {
			names = g.Profiles
		}
	}
	r := &Report{}
	for _, name := range names {
		lo.Profile = name
		p, err := config.Load(lo)
		var ps Profile
		if err != nil {
			ps = Profile{Name: name, Warnings: []string{"the profile does not load: " + err.Error()}}
			ps.raise(CodeSignInRequired)
		} else {
			ps = checkProfile(p, now)
		}
		ps.State = stateName(ps.Code)
		r.Profiles = append(r.Profiles, ps)
		r.Code = max(r.Code, ps.Code)
	}
	return r, nil
}

func (ps *Profile) raise(code int) { ps.Code = max(ps.Code, code) }

func (ps *Profile) warn(code int, format string, args ...any) {
	ps.raise(code)
	ps.Warnings = append(ps.Warnings, fmt.Sprintf(format, args...))
}

func stateName(code int) string {
	switch code {
	case CodeOK:
		return "ok"
	case CodeAccessTokenExpired:
		return "access_token_expired"
	case CodeSoon:
		return "attention"
	}
	return "sign_in_required"
}

// checkProfile looks at one loaded profile's token cache, health record
// and certificate.
func checkProfile(p *config.Profile, now time.Time) Profile {
	ps := Profile{Name: p.Name, Flow: string(p.Flow), Credential: p.CredentialSource(), TokenCache: p.CacheFile(), Account: p.Mailbox}
	if ps.Credential == "" {
		ps.Credential = "a person's sign-in (m365send login)"
	}
	person := p.Flow == config.FlowDeviceCode
	var c cacheInfo
	if kr, warning := p.TokenKeyring(); kr != nil {
		// token_store = "keyring": the cache's content is in the OS keyring;
		// the file path still names the lock and the health record.
		ps.TokenStore = config.TokenStoreKeyring
		c = readKeyringCache(kr, keyring.TokenAccount(p.Name), &ps)
	} else {
		if warning != "" {
			ps.Warnings = append(ps.Warnings, warning)
		}
		c = readCache(ps.TokenCache)
	}
	if c.account != "" {
		ps.Account = c.account
	}
	if !c.accessExpiry.IsZero() {
		ps.AccessTokenExpires = &c.accessExpiry
	}
	ps.RefreshToken = c.refresh
	h, err := ReadHealth(HealthFile(ps.TokenCache))
	if err != nil {
		ps.Warnings = append(ps.Warnings, err.Error())
	}
	if !h.LastSend.IsZero() {
		ps.LastSend = &h.LastSend
	}
	if !h.SignedIn.IsZero() {
		ps.SignedIn = &h.SignedIn
	}
	if ps.AccessTokenExpires != nil && ps.AccessTokenExpires.Before(now) {
		ps.warn(CodeAccessTokenExpired, "the cached access token expired at %s: the next use gets a new one", stamp(*ps.AccessTokenExpires))
	}
	if p.CertificateFile != "" {
		checkCertificate(&ps, p.CertificateFile, now)
	}
	if !person {
		return ps
	}
	switch {
	case ps.TokenCache == "":
		ps.warn(CodeSignInRequired, "no token cache folder: a sign-in cannot be kept (set cache_dir)")
		return ps
	case h.LoginRequired != nil:
		ps.warn(CodeSignInRequired, "a sign-in is required since %s (%s): run `m365send login --profile %s`",
			stamp(h.LoginRequired.At), h.LoginRequired.Reason, p.Name)
		return ps
	case c.account == "" || !c.refresh:
		ps.warn(CodeSignInRequired, "nobody is signed in: run `m365send login --profile %s`", p.Name)
		return ps
	}
	used := h.RefreshUsed
	if h.SignedIn.After(used) {
		used = h.SignedIn
	}
	if used.IsZero() {
		used = c.modTime // before health records: the cache's last write
	}
	if !used.IsZero() {
		ends := used.Add(RefreshInactivity)
		ps.RefreshTokenUsed, ps.RefreshTokenEnds = &used, &ends
		switch {
		case !now.Before(ends):
			ps.warn(CodeSignInRequired, "the refresh token was last used %s, 90 days ago or more: Entra ID has ended the sign-in; run `m365send login --profile %s`", stamp(used), p.Name)
		case now.Sub(used) >= RefreshWarnAfter:
			ps.warn(CodeSoon, "the refresh token was last used %s: the sign-in ends %s unless the profile is used before (any send or `m365send token --profile %s` renews it)",
				stamp(used), stamp(ends), p.Name)
		}
	}
	return ps
}

// checkCertificate reads the first certificate of a PEM file (a PKCS#12
// file's expiry needs its password and is not looked at).
func checkCertificate(ps *Profile, file string, now time.Time) {
	b, err := os.ReadFile(file)
	if err != nil {
		ps.warn(CodeSignInRequired, "the certificate file cannot be read: %v", err)
		return
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return
		}
		exp := cert.NotAfter.UTC()
		ps.CertificateExpires = &exp
		switch {
		case !now.Before(exp):
			ps.warn(CodeSignInRequired, "the certificate expired %s: upload a new one to the app registration and point certificate_file at it", stamp(exp))
		case exp.Sub(now) < CertificateWarn:
			ps.warn(CodeSoon, "the certificate expires %s: upload a new one to the app registration before then", stamp(exp))
		}
		return
	}
}

// cacheInfo is what status reads from a token cache file.
type cacheInfo struct {
	account      string
	refresh      bool
	accessExpiry time.Time
	modTime      time.Time
}

// readCache reads the MSAL cache file's accounts, refresh tokens and the
// latest access token expiry; never a token.
func readCache(path string) cacheInfo {
	var ci cacheInfo
	if path == "" {
		return ci
	}
	fi, err := os.Stat(path)
	if err != nil {
		return ci
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ci
	}
	ci = parseCache(b)
	ci.modTime = fi.ModTime().UTC()
	return ci
}

// readKeyringCache reads the cache's content from the OS keyring item
// account; a keyring that fails is a warning on ps (never a silent "not
// signed in").
func readKeyringCache(kr keyring.Keyring, account string, ps *Profile) cacheInfo {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := kr.Get(ctx, account)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return cacheInfo{}
	case err != nil:
		ps.Warnings = append(ps.Warnings, "the token cache in the OS keyring cannot be read: "+err.Error())
		return cacheInfo{}
	}
	return parseCache([]byte(v))
}

// parseCache reads an MSAL cache's accounts, refresh tokens and the latest
// access token expiry; never a token.
func parseCache(b []byte) cacheInfo {
	var ci cacheInfo
	var c struct {
		Account map[string]struct {
			Username string `json:"username"`
		} `json:"Account"`
		RefreshToken map[string]json.RawMessage `json:"RefreshToken"`
		AccessToken  map[string]struct {
			ExpiresOn string `json:"expires_on"`
		} `json:"AccessToken"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ci
	}
	var names []string
	for _, a := range c.Account {
		names = append(names, a.Username)
	}
	sort.Strings(names)
	if len(names) > 0 {
		ci.account = names[0]
	}
	ci.refresh = len(c.RefreshToken) > 0
	for _, at := range c.AccessToken {
		if n, err := strconv.ParseInt(at.ExpiresOn, 10, 64); err == nil {
			if t := time.Unix(n, 0).UTC(); t.After(ci.accessExpiry) {
				ci.accessExpiry = t
			}
		}
	}
	return ci
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Write prints the report for a person: one block per profile.
func Write(w io.Writer, r *Report) error {
	var b strings.Builder
	for i, p := range r.Profiles {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", p.Name, strings.ReplaceAll(p.State, "_", " "))
		line := func(k, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %-15s %s\n", k+":", v)
			}
		}
		t := func(p *time.Time) string {
			if p == nil {
				return ""
			}
			return stamp(*p)
		}
		line("flow", p.Flow)
		line("account", p.Account)
		line("credential", p.Credential)
		if p.TokenStore != "" {
			line("token cache", "OS keyring (lock and health record: "+p.TokenCache+")")
		} else {
			line("token cache", p.TokenCache)
		}
		if p.AccessTokenExpires != nil {
			line("access token", "expires "+t(p.AccessTokenExpires))
		}
		if p.RefreshTokenUsed != nil {
			line("refresh token", "last used "+t(p.RefreshTokenUsed)+"; ends "+t(p.RefreshTokenEnds)+" if unused")
		} else if p.Flow == string(config.FlowDeviceCode) {
			line("refresh token", "none")
		}
		line("signed in", t(p.SignedIn))
		line("last send", t(p.LastSend))
		if p.CertificateExpires != nil {
			line("certificate", "expires "+t(p.CertificateExpires))
		}
		for _, wmsg := range p.Warnings {
			fmt.Fprintf(&b, "  warning: %s\n", wmsg)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
