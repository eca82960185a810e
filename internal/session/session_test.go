package session

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
)

func TestNewSessionEndpointsFromTheCloud(t *testing.T) {
	home := t.TempDir()
	base := map[string]string{
		"HOME":                home,
		"AZURE_TENANT_ID":     "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":     "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"AZURE_CLIENT_SECRET": "wire-test-secret",
		"M365SEND_MAILBOX":    "alerts@contoso.com",
	}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		host     string
		port     int
		resource string
	}{
		{"global", nil, "smtp.office365.com", 587, "https://outlook.office365.com"},
		{"usgov", map[string]string{"M365SEND_CLOUD": "usgov"}, "smtp.office365.us", 587, "https://outlook.office365.us"},
		{"china", map[string]string{"M365SEND_CLOUD": "china"}, "smtp.partner.outlook.cn", 587, "https://partner.outlook.cn"},
		{"overrides", map[string]string{"M365SEND_SMTP_HOST": "smtp-hve.office365.com", "M365SEND_SMTP_PORT": "25"}, "smtp-hve.office365.com", 25, "https://outlook.office365.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			// New does no I/O: nothing here reaches the network.
			s, err := Open(context.Background(), Options{Getenv: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if s.SMTPHost != tc.host || s.SMTPPort != tc.port || s.Cloud.Resource != tc.resource || s.Mailbox != "alerts@contoso.com" || s.Sender == nil {
				t.Errorf("session host %s port %d resource %s mailbox %s", s.SMTPHost, s.SMTPPort, s.Cloud.Resource, s.Mailbox)
			}
			if got, want := s.Profile.CacheFile(), filepath.Join(home, ".local", "state", "m365send", "tokens", "default.json"); got != want {
				t.Errorf("cache file %s, want %s", got, want)
			}
			if got := s.Tokens.Scopes(); len(got) != 1 || got[0] != tc.resource+"/.default" {
				t.Errorf("scopes %v", got)
			}
		})
	}
}

func TestNewSessionNeedsAMailboxToSend(t *testing.T) {
	env := map[string]string{
		"HOME":                t.TempDir(),
		"AZURE_TENANT_ID":     "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":     "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"AZURE_CLIENT_SECRET": "wire-test-secret",
	}
	getenv := func(k string) string { return env[k] }
	_, err := Open(context.Background(), Options{Getenv: getenv})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "mailbox" || failure.KindOf(err) != failure.Config {
		t.Fatalf("err = %v, want a config error about the mailbox", err)
	}
	s, err := Open(context.Background(), Options{Getenv: getenv, NoSender: true})
	if err != nil || s.Sender != nil {
		t.Fatalf("NoSender: %v, sender %v", err, s.Sender)
	}
}
