package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runInProcess runs the command line in-process with the given environment
// and standard input, and returns the exit code, stdout and stderr.
func runInProcess(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"m365send"}, args...), IO{
		In:  strings.NewReader(stdin),
		Out: &out,
		Err: &errb,
		Env: func(k string) string { return env[k] },
	})
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown command", []string{"sned"}, `unknown command "sned"`},
		{"unknown flag", []string{"send", "--tto", "a@b.com"}, "unknown flag: --tto"},
		{"missing flag value", []string{"send", "--subject"}, "flag needs an argument"},
		{"extra argument", []string{"token", "extra"}, "unknown command \"extra\""},
		{"raw with subject", []string{"send", "--raw", "-", "--subject", "x"}, "--raw sends a complete message; it does not go with --subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runInProcess(t, env, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want 64; stderr %q", code, stderr)
			}
			if !strings.HasPrefix(stderr, "m365send: ") || !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tc.msg)
			}
			if !strings.Contains(stderr, "  hint: ") {
				t.Errorf("stderr %q has no hint line", stderr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestJSONReportsUsageErrors(t *testing.T) {
	code, out, stderr := runInProcess(t, map[string]string{"HOME": t.TempDir()}, "", "send", "--dry-run", "--json", "--to", "a@b.com")
	want := `{"status":"failed","error":"--dry-run and --json do not go together","hint":"--dry-run prints the message itself","exit_code":64}` + "\n"
	if code != exitUsage || out != want || stderr != "" {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %q", code, out, want, stderr)
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"EXIT STATUS", "78 configuration error", "send", "login", "doctor", "completion", "AZURE_CLIENT_CERTIFICATE_PATH"}},
		{[]string{"send", "--help"}, []string{"--to", "--cc", "--bcc", "--subject", "--body", "--html", "--attach", "--header", "--reply-to", "--raw", "--dry-run", "--json", "--verbose", "--profile", "--config", "standard input"}},
		{[]string{"login", "--help"}, []string{"device-code", "standard error"}},
		{[]string{"token", "--help"}, []string{"passwordeval"}},
		{[]string{"doctor", "--help"}, []string{"claims", "starttls", "mechanisms"}},
		{[]string{"completion", "bash"}, []string{"bash completion"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, stderr := runInProcess(t, nil, "", tc.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr %q", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runInProcess(t, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "m365send ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestSendConfigErrorExits78(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "c.toml")
	if err := os.WriteFile(cfg, []byte("[profiles.a]\ntenat = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "M365SEND_CONFIG": cfg}
	code, out, stderr := runInProcess(t, env, "body", "send", "--to", "a@contoso.com", "-s", "x")
	if code != exitConfig {
		t.Errorf("exit %d, want 78", code)
	}
	want := "m365send: " + cfg + ":2: profiles.a.tenat: unknown key\n  hint: did you mean \"tenant\"?\n"
	if stderr != want || out != "" {
		t.Errorf("stderr %q\nwant   %q; stdout %q", stderr, want, out)
	}

	code, out, stderr = runInProcess(t, env, "body", "send", "--json", "--to", "a@contoso.com", "-s", "x")
	if code != exitConfig || stderr != "" {
		t.Errorf("--json: exit %d, stderr %q", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	if res["status"] != "failed" || res["exit_code"] != float64(78) || res["hint"] != `did you mean "tenant"?` ||
		!strings.Contains(res["error"].(string), "unknown key") || strings.Count(out, "\n") != 1 {
		t.Errorf("--json output %q", out)
	}
}

func TestSendMissingAttachmentExits65(t *testing.T) {
	code, _, stderr := runInProcess(t, map[string]string{"HOME": t.TempDir()}, "", "send", "--to", "a@contoso.com", "--attach", "/nonexistent/report.pdf", "--body", "x")
	if code != exitDataErr || !strings.Contains(stderr, "/nonexistent/report.pdf") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runInProcess(t, map[string]string{"HOME": t.TempDir()}, "", "send", "--from", "not an address", "--to", "a@contoso.com", "--body", "x")
	if code != exitDataErr || !strings.Contains(stderr, "malformed --from") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestSendDryRun(t *testing.T) {
	env := map[string]string{
		"HOME":               t.TempDir(),
		"AZURE_TENANT_ID":    "contoso.onmicrosoft.com",
		"AZURE_CLIENT_ID":    "5b7d0c4e-2f1a-4e8b-9c3d-6a1e2f3b4c5d",
		"M365SEND_MAILBOX":   "alerts@contoso.com",
		"M365SEND_FROM_NAME": "Contoso Alerts",
		// No secret and unreachable endpoints: a dry run needs no token.
		"M365SEND_FLOW":           "device_code",
		"M365SEND_AUTHORITY_HOST": "127.0.0.1:1",
	}
	code, out, stderr := runInProcess(t, env, "Disk /var is 91% full.\n", "send", "--dry-run", "--to", "ops@contoso.com",
		"--bcc", "audit@contoso.com", "-s", "disk", "--header", "X-Priority: 1", "--reply-to", "noc@contoso.com")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"From: \"Contoso Alerts\" <alerts@contoso.com>", "To: <ops@contoso.com>", "Subject: disk", "X-Priority: 1",
		"Reply-To: <noc@contoso.com>", "Disk /var is 91% full.", "\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "audit@contoso.com") {
		t.Errorf("Bcc shows in the message:\n%s", out)
	}

	raw := "From: Ops <ops@contoso.com>\nTo: bob@contoso.com\nBcc: secret-watcher@contoso.com\nSubject: raw\n\nraw body\n"
	code, out, stderr = runInProcess(t, env, raw, "send", "--dry-run", "--raw", "-")
	if code != 0 {
		t.Fatalf("--raw exit %d: %s", code, stderr)
	}
	for _, want := range []string{"From: Ops <ops@contoso.com>\r\n", "Subject: raw\r\n", "Message-ID: <", "Date: ", "raw body\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("raw dry run lacks %q:\n%q", want, out)
		}
	}
	if strings.Contains(out, "secret-watcher") {
		t.Errorf("Bcc header kept:\n%s", out)
	}

	code, _, stderr = runInProcess(t, env, "no headers at all", "send", "--dry-run", "--raw", "-")
	if code != exitDataErr {
		t.Errorf("raw message without recipients: exit %d, %s", code, stderr)
	}
}
