package submit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/sender"
)

// DryRun builds for the profile's mailbox, else for --from, and without
// either says how to give one; it needs no secret and no token.
func TestDryRunChoosesTheMailbox(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{
		"HOME":                home,
		"AZURE_TENANT_ID":     "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":     "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"AZURE_CLIENT_SECRET": "never-used",
		"M365SEND_FROM_NAME":  "Alerts",
	}
	opts := session.Options{Getenv: func(k string) string { return env[k] }}
	var got []string
	build := func(mailbox, name string) (*sender.Message, error) {
		got = append(got, mailbox+" "+name)
		return &sender.Message{From: mailbox, To: []string{"ops@example.com"}, Subject: "s", Text: "x"}, nil
	}

	if _, err := DryRun(opts, "", build); failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), "no From address") ||
		!strings.Contains(failure.HintOf(err), "--from") {
		t.Errorf("no mailbox and no --from: %v (kind %s, hint %q)", err, failure.KindOf(err), failure.HintOf(err))
	}
	m, err := DryRun(opts, "me@contoso.com", build)
	if err != nil {
		t.Fatal(err)
	}
	env["M365SEND_MAILBOX"] = "alerts@contoso.com"
	if _, err := DryRun(opts, "me@contoso.com", build); err != nil {
		t.Fatal(err)
	}
	if want := []string{"me@contoso.com Alerts", "alerts@contoso.com Alerts"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("built for %q, want %q", got, want)
	}
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil || !strings.Contains(b.String(), "me@contoso.com") {
		t.Errorf("the message written: %v\n%s", err, b.String())
	}
}
