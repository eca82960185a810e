package main

import (
	"strings"
	"testing"
)

// TestSendRawWithoutRecipientsHintsAtSendFlags checks that `send --raw`
// with a message naming nobody gives send's hint: in send, -t is --to, so
// sendmail's "use -t with To/Cc/Bcc headers" would send people astray.
func TestSendRawWithoutRecipientsHintsAtSendFlags(t *testing.T) {
	env := map[string]string{
		"HOME":             t.TempDir(),
		"AZURE_TENANT_ID":  "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":  "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"M365SEND_MAILBOX": "alerts@contoso.com",
		// A dry run needs no token; nothing is reachable anyway.
		"M365SEND_FLOW":           "device_code",
		"M365SEND_AUTHORITY_HOST": "127.0.0.1:1",
	}
	code, out, stderr := runInProcess(t, env, "Subject: nobody named\n\nbody\n", "send", "--dry-run", "--raw", "-")
	if code != exitDataErr {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitDataErr, stderr)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing", out)
	}
	if !strings.Contains(stderr, "no recipients") || !strings.Contains(stderr, "add To/Cc/Bcc headers or pass --to") {
		t.Errorf("stderr %q, want the no-recipients error with send's hint", stderr)
	}
	if strings.Contains(stderr, "use -t") {
		t.Errorf("stderr %q gives sendmail's -t hint", stderr)
	}
}
