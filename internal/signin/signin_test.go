package signin

import (
	"errors"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

func TestChoose(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name string
		req  Request
		want Method
	}{
		{"device code asked", Request{DeviceCode: true, Getenv: env(map[string]string{"BROWSER": "firefox"}), GOOS: "linux"}, DeviceCode},
		{"paste-back asked", Request{NoBrowser: true, Getenv: env(map[string]string{"BROWSER": "firefox"}), GOOS: "linux"}, PasteBack},
		{"$BROWSER", Request{Getenv: env(map[string]string{"BROWSER": "firefox"}), GOOS: "linux"}, Browser},
		{"macOS", Request{Getenv: env(nil), GOOS: "darwin"}, Browser},
		{"no display over ssh", Request{Getenv: env(map[string]string{"SSH_CONNECTION": "x"}), GOOS: "linux"}, DeviceCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Choose(tc.req)
			if err != nil || c.Method != tc.want {
				t.Fatalf("Choose = %v, %v; want %v", c.Method, err, tc.want)
			}
			if tc.want == DeviceCode && !tc.req.DeviceCode && c.Why == "" {
				t.Error("no reason given for falling back to device code")
			}
		})
	}
	if _, err := Choose(Request{DeviceCode: true, NoBrowser: true}); err == nil {
		t.Error("--device-code with --no-browser accepted")
	}
}

func TestCodeFromRedirect(t *testing.T) {
	code, err := CodeFromRedirect(" http://localhost/?code=abc&state=s1 \n", "s1")
	if err != nil || code != "abc" {
		t.Fatalf("got %q, %v", code, err)
	}
	if code, err := CodeFromRedirect("http://localhost/#code=frag&state=s1", "s1"); err != nil || code != "frag" {
		t.Errorf("fragment: %q, %v", code, err)
	}
	if _, err := CodeFromRedirect("http://localhost/?code=abc&state=other", "s1"); failure.KindOf(err) != failure.Usage {
		t.Errorf("other state: %v", err)
	}
	if _, err := CodeFromRedirect("abc", "s1"); !errors.Is(err, ErrNotRedirect) {
		t.Errorf("not an address: %v", err)
	}
	_, err = CodeFromRedirect("http://localhost/?error=access_denied&error_description=AADSTS65004%3A+declined&state=s1", "s1")
	var re *RedirectError
	if !errors.As(err, &re) || re.OAuthError != "access_denied" || !strings.Contains(err.Error(), "AADSTS65004") {
		t.Errorf("error redirect: %v", err)
	}
}

func TestBrowserOpenerRunsBrowserWithoutShell(t *testing.T) {
	open, _ := BrowserOpener(func(k string) string {
		if k == "BROWSER" {
			return "/nonexistent/browser --new-window %s"
		}
		return ""
	}, "linux")
	if open == nil {
		t.Fatal("no opener for $BROWSER")
	}
	err := open("https://login.example/authorize?x=1", func(error) {})
	if err == nil || failure.KindOf(err) != failure.Config {
		t.Errorf("a browser that does not exist: %v (kind %v), want a configuration error", err, failure.KindOf(err))
	}
}
