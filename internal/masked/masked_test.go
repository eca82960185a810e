package masked

import "testing"

func TestValue(t *testing.T) {
	for in, want := range map[string]string{
		"my-app":                                   `"my-app"`,
		"alerts@contoso.com":                       `"alerts@contoso.com"`,
		"someone.with.a.long.name@contoso.com":     `"som…" (36 characters)`,
		"a-rather-long-tenant-name.example.com":    "(37 characters, not shown: it looks like a client secret)",
		"PFB8Q~snfX2kLq9vR.Tz3hWm_Yp0cJd-4eUa7bGi": "(40 characters, not shown: it looks like a client secret)",
		"ab~c":                            "(4 characters, not shown: it looks like a client secret)",
		"abcdefghijklmnopqrstuvwxyz01234": "(31 characters, not shown: it looks like a client secret)",
		"tab\there":                       `"tab…" (8 characters)`,
	} {
		if got := Value(in); got != want {
			t.Errorf("Value(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPathAndInFull(t *testing.T) {
	for in, want := range map[string]string{
		"/etc/m365send/a-rather-long-name-for-a-secret.txt": "/etc/m365send/a-rather-long-name-for-a-secret.txt",
		"~/secret":     "~/secret",
		"relative.txt": `"relative.txt"`,
		"/PFB8Q~snfX2kLq9vR.Tz3hWm_Yp0cJd-4eUa7bGi": "(41 characters, not shown: it looks like a client secret)",
	} {
		if got := Path(in); got != want {
			t.Errorf("Path(%q) = %s, want %s", in, got, want)
		}
	}
	if !InFull("my-app") || InFull("PFB8Q~snfX2kLq9vR.Tz3hWm_Yp0cJd-4eUa7bGi") || InFull("tab\there") {
		t.Error("InFull: want true only for a value shown as it is")
	}
}
