package aliases

import (
	"errors"
	"slices"
	"testing"
)

const etcAliases = `# /etc/aliases
mailer-daemon: postmaster
postmaster: root
nobody: root
root: ops@contoso.com,
	oncall@contoso.com
backup: "|/usr/bin/procmail", /var/mail/backup, :include:/etc/x, Backup.Team@contoso.com
www-data: root
`

func TestParseEtcAliasesAndExpand(t *testing.T) {
	tab, err := Parse("/etc/aliases", []byte(etcAliases))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"root":          {"ops@contoso.com", "oncall@contoso.com"},
		"ROOT":          {"ops@contoso.com", "oncall@contoso.com"},
		"mailer-daemon": {"ops@contoso.com", "oncall@contoso.com"},
		"www-data":      {"ops@contoso.com", "oncall@contoso.com"},
		"backup":        {"Backup.Team@contoso.com"},
	}
	for name, want := range cases {
		got, ok, err := tab.Expand(name)
		if err != nil || !ok || !slices.Equal(got, want) {
			t.Errorf("Expand(%q) = %q, %v, %v; want %q", name, got, ok, err, want)
		}
	}
	if _, ok, _ := tab.Expand("alice"); ok {
		t.Error("alice has no alias but Expand found one")
	}
}

func TestParseRefusesGarbageWithLine(t *testing.T) {
	_, err := Parse("a", []byte("root: ops@contoso.com\nthis is not an alias\n"))
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.File != "a" {
		t.Fatalf("err = %v, want line 2 of a", err)
	}
	if _, err := Parse("a", []byte("  ops@contoso.com\n")); err == nil {
		t.Fatal("a continuation line with nothing before it was taken")
	}
}

func TestExpandLoopIsAnError(t *testing.T) {
	tab := Table{"a": {"b"}, "b": {"a", "x@contoso.com"}}
	if _, _, err := tab.Expand("a"); err == nil {
		t.Fatal("a loop expanded")
	}
	// A name naming itself among real addresses keeps the addresses.
	tab = Table{"root": {"root", "ops@contoso.com"}}
	got, _, err := tab.Expand("root")
	if err != nil || !slices.Equal(got, []string{"ops@contoso.com"}) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestMergeOverWins(t *testing.T) {
	m := Merge(Table{"root": {"a@x"}, "postmaster": {"root"}}, Table{"Root": {"b@x"}})
	got, _, _ := m.Expand("postmaster")
	if !slices.Equal(got, []string{"b@x"}) {
		t.Fatalf("got %q", got)
	}
}

func TestIsLocal(t *testing.T) {
	for s, want := range map[string]bool{"root": true, " www-data ": true, "a@b": false, "<root>": false, "root (Cron)": false, "": false} {
		if IsLocal(s) != want {
			t.Errorf("IsLocal(%q) != %v", s, want)
		}
	}
}
