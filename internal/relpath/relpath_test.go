package relpath

import "testing"

func TestResolve(t *testing.T) {
	for _, c := range []struct{ p, want string }{
		{"", ""},
		{"app.pem", "/etc/m365send/app.pem"},
		{"./keys/app.pem", "/etc/m365send/keys/app.pem"},
		{"../app.pem", "/etc/app.pem"},
		{"/srv/app.pem", "/srv/app.pem"},
		{"~", "/home/ann"},
		{"~/keys/app.pem", "/home/ann/keys/app.pem"},
		{"~bob/app.pem", "/etc/m365send/~bob/app.pem"},
	} {
		if got := Resolve(c.p, "/etc/m365send", "/home/ann"); got != c.want {
			t.Errorf("Resolve(%q) = %q, want %q", c.p, got, c.want)
		}
	}
	if got := Resolve("~/x", "/etc/m365send", ""); got != "/etc/m365send/~/x" {
		t.Errorf("without a home, Resolve(~/x) = %q, want it relative to the file's folder", got)
	}
}

func TestCommand(t *testing.T) {
	for _, c := range []struct{ p, want string }{
		{"pass", "pass"},
		{"./bin/secret", "/etc/m365send/bin/secret"},
		{"~/bin/secret", "/home/ann/bin/secret"},
		{"/usr/bin/pass", "/usr/bin/pass"},
	} {
		if got := Command(c.p, "/etc/m365send", "/home/ann"); got != c.want {
			t.Errorf("Command(%q) = %q, want %q", c.p, got, c.want)
		}
	}
}
