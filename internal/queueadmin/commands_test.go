package queueadmin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
)

// queueConfig writes a configuration file whose queue is a new spool
// folder, and returns the options that load it and the folder.
func queueConfig(t *testing.T) (config.LoadOptions, string) {
	t.Helper()
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	file := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(file, []byte("queue = \""+spoolDir+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.LoadOptions{File: file, Env: func(string) string { return "" }}, spoolDir
}

func TestParseIDRefusesWhatIsNoID(t *testing.T) {
	_, err := ParseID("../etc/passwd\n")
	if failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), `"../etc/passwd" is not a queue ID`) ||
		failure.HintOf(err) != "see `m365send queue list`" {
		t.Errorf("ParseID = %v (kind %s, hint %q)", err, failure.KindOf(err), failure.HintOf(err))
	}
}

// Each checks every ID before it opens the queue, tells every failure but
// the worst, each with its ID, and returns the worst.
func TestEachReturnsTheWorstAndReportsTheRest(t *testing.T) {
	ctx := context.Background()
	lo, dir := queueConfig(t)
	sp, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		id, err := sp.Enqueue(ctx, queue.Envelope{From: "a@contoso.com", To: []string{"b@example.com"}, Profile: "p"}, strings.NewReader("x\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(id))
	}
	_ = sp.Close()

	rank := func(err error) int {
		return map[failure.Kind]int{failure.Temporary: 1, failure.Config: 2}[failure.KindOf(err)]
	}
	fails := map[string]error{
		ids[0]: failure.New(failure.Temporary, "busy", ""),
		ids[2]: failure.New(failure.Config, "broken", ""),
	}
	var reported []error
	var seen []queue.ID
	err = Each(ctx, lo, ids, rank, func(err error) { reported = append(reported, err) }, func(q queue.Queue, id queue.ID) error {
		if _, err := q.Get(ctx, id); err != nil {
			t.Errorf("Get %s: %v", id, err)
		}
		seen = append(seen, id)
		return fails[string(id)]
	})
	if len(seen) != 3 {
		t.Errorf("f ran on %v, want all 3", seen)
	}
	if failure.KindOf(err) != failure.Config || err.Error() != ids[2]+": broken" {
		t.Errorf("Each = %v, want the config failure of %s", err, ids[2])
	}
	if len(reported) != 1 || reported[0].Error() != ids[0]+": busy" {
		t.Errorf("reported %v, want the temporary failure of %s", reported, ids[0])
	}

	ran := false
	err = Each(ctx, lo, []string{ids[0], "../x"}, rank, func(error) {}, func(queue.Queue, queue.ID) error { ran = true; return nil })
	if failure.KindOf(err) != failure.Usage || ran {
		t.Errorf("with a bad ID: Each = %v, ran f: %v; want a usage failure before anything", err, ran)
	}
}

// Migrate says what it moved, and nothing when a failure came before
// anything moved: the configuration does not load, the move refuses.
func TestMigrateTellsWhatMoved(t *testing.T) {
	ctx := context.Background()
	lo, _ := queueConfig(t)
	bad := lo
	bad.File = filepath.Join(t.TempDir(), "broken.toml")
	if err := os.WriteFile(bad.File, []byte("queue = [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if mv, err := Migrate(ctx, bad, "postgres://h/db"); mv != nil || failure.KindOf(err) != failure.Config {
		t.Errorf("Migrate with a broken file = %v, %v; want no move and a config failure", mv, err)
	}
	db := lo
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("queue = \"postgres://h/db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db.File = file
	mv, err := Migrate(ctx, db, "postgres://h/other")
	if mv != nil || failure.KindOf(err) != failure.Usage {
		t.Errorf("Migrate from a database = %v, %v; want no move and a usage failure", mv, err)
	}
}
