package sysmail

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/m365send/m365send/config"
)

func TestAliasesTableWinsOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "aliases")
	if err := os.WriteFile(file, []byte("root: file@contoso.com\npostmaster: root\nbackup: backup@contoso.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Aliases(&config.Globals{AliasesFile: file, Aliases: map[string][]string{"root": {"ops@contoso.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"postmaster": {"ops@contoso.com"}, "backup": {"backup@contoso.com"}} {
		got, ok, err := tab.Expand(name)
		if !ok || err != nil || !slices.Equal(got, want) {
			t.Errorf("%s → %q (%v, %v), want %q", name, got, ok, err, want)
		}
	}
	if _, err := Aliases(&config.Globals{AliasesFile: filepath.Join(dir, "none")}); err == nil {
		t.Fatal("a missing aliases file was accepted")
	}
}

func TestEventLineIsOneLineOfFields(t *testing.T) {
	e := Event{Profile: "alerts", Mailbox: "alerts@contoso.com", From: "alerts@contoso.com", To: []string{"a@x", "b@x"},
		MessageID: "<1@x>", Err: errors.New("bad\nthing happened")}
	line := e.Line("cron user")
	for _, want := range []string{"user=cron_user", "to=<a@x>,<b@x>", "msgid=<1@x>", "result=failed kind=", `error="bad thing happened"`} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("line has a newline: %q", line)
	}
	if got := (Event{QueueID: "q1"}).Line("u"); !strings.Contains(got, "result=queued queue_id=q1") || !strings.Contains(got, "profile=-") {
		t.Errorf("queued line %q", got)
	}
}
