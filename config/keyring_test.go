package config

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/keyring"
)

// memKeyring is a Keyring in memory.
type memKeyring map[string]string

func (m memKeyring) Get(_ context.Context, account string) (string, error) {
	s, ok := m[account]
	if !ok {
		return "", &keyring.Error{Op: "read", Account: account, Err: keyring.ErrNotFound}
	}
	return s, nil
}
func (m memKeyring) Set(_ context.Context, account, secret string) error {
	m[account] = secret
	return nil
}
func (m memKeyring) Delete(_ context.Context, account string) error { delete(m, account); return nil }

func TestClientSecretKeyring(t *testing.T) {
	f := newFixture(t)
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_keyring = true\n")
	p, err := f.load(LoadOptions{Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.ClientSecretKeyring || p.Flow != FlowClientCredentials || p.CredentialSource() != "client_secret_keyring (the OS keyring)" {
		t.Fatalf("profile %+v, source %q", p, p.CredentialSource())
	}
	mem := memKeyring{}
	p.keyring = mem
	_, err = p.Secret(context.Background())
	if !errors.Is(err, keyring.ErrNotFound) || failure.KindOf(err) != failure.Config || failure.HintOf(err) != "store it: m365send secret set p" {
		t.Fatalf("no secret stored: %v (hint %q)", err, failure.HintOf(err))
	}
	mem[keyring.SecretAccount("p")] = "the~secret\n"
	if s, err := p.Secret(context.Background()); err != nil || s != "the~secret" {
		t.Fatalf("Secret() = %q, %v", s, err)
	}

	// Headless: the real OS keyring with no session bus says what to do.
	p.keyring, p.env = nil, func(string) string { return "" }
	_, err = p.Secret(context.Background())
	if !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(failure.HintOf(err), "client_secret_file") {
		t.Fatalf("headless: %v (hint %q)", err, failure.HintOf(err))
	}

	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_keyring = false\n")
	if _, err := f.load(LoadOptions{Profile: "p"}); err == nil || !strings.Contains(err.Error(), "only true means something") {
		t.Fatalf("false: %v", err)
	}
	f.config("[profiles.p]\ntenant = \"" + tenantID + "\"\nclient_id = \"" + clientID + "\"\nclient_secret_keyring = \"yes\"\n")
	if _, err := f.load(LoadOptions{Profile: "p"}); err == nil || !strings.Contains(err.Error(), "want boolean") {
		t.Fatalf("a string: %v", err)
	}
}
