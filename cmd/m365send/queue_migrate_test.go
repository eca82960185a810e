//go:build unix

package main

// Issue 12: `m365send queue migrate` end to end through the real binary:
// a spool holding messages in every state moves to a PostgreSQL queue,
// `m365send queue` shows them there as they were, a move cut short
// loses nothing and runs again without a copy twice, and a relay on the
// database then delivers each pending recipient once.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/pgtest"
	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/pgqueue"
	"github.com/m365send/m365send/queue/spool"
)

// migrateMsg is the message of the spool that the test calls name.
func migrateMsg(name string) string {
	return fmt.Sprintf("From: Office <%s>\r\nTo: undisclosed-recipients:;\r\nSubject: migrate %s\r\n"+
		"Message-ID: <migrate-%s@relay.test>\r\nDate: Sun, 29 Nov 2026 12:00:00 +0000\r\n\r\nbody of %s\r\n",
		sandbox.AppMailbox, name, name, name)
}

var migrateSubject = regexp.MustCompile(`(?m)^Subject: migrate (\w+)\r$`)

// TestQueueMigrate fills a spool with a fresh message, one delivered to
// some recipients and waiting for another try for the others, one whose
// next try is an hour away and a dead letter, then moves it to
// PostgreSQL with `m365send queue migrate --to`:
//
//   - a wrong URL fails (exit 69), moves nothing and prints no "moved";
//   - a move that the database stops after two new rows fails (exit
//     69), having moved those and left the others in the spool, none in
//     both, and prints what it moved;
//   - run again, it moves the rest, skipping a message that is in the
//     database already, and says what it moved (without the URL's
//     password); a third run moves nothing and copies nothing twice;
//   - `queue list` and `queue show` print on the database what they
//     printed on the spool, which is empty;
//   - a relay on the database delivers each pending recipient exactly
//     once (the message an hour away after `queue retry`), never one
//     delivered before the move, and leaves the dead letter alone.
func TestQueueMigrate(t *testing.T) {
	t.Parallel() // waits on processes; overlaps the other slow tests
	srv, stop := pgtest.Start()
	t.Cleanup(stop)
	dbURL := srv.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	home := t.TempDir()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: filepath.Join(home, "sandbox")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	base, err := os.ReadFile(sb.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	spoolDir := filepath.Join(home, "spool")
	state := filepath.Join(home, "state")
	// The sandbox's profiles with the queue q and a relay for "scanner".
	config := func(name, q string) string {
		path := filepath.Join(home, name)
		text := fmt.Sprintf("queue = %q\n%s\n[relay]\nlisten = [\"127.0.0.1:0\"]\n%s", q, base, relayUserTable(t, "scanner", "s3cret"))
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	onSpool, onDB := config("spool.toml", spoolDir), config("db.toml", dbURL)
	// Under -race, a process that ends well waits a second for the race
	// detector's reports (atexit_sleep_ms); this test runs twenty.
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TMPDIR=" + os.TempDir(), "M365SEND_STATE_DIR=" + state,
		"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
	run := func(cfg string, args ...string) (int, string, string) {
		t.Helper()
		return runBinary(t, env, "", append([]string{"--config", cfg}, args...)...)
	}

	// The spool, as a relay on it would have left it.
	sp, err := spool.Open(spoolDir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	now := time.Now().UTC().Truncate(time.Second)
	enqueue := func(name string, to ...string) queue.ID {
		t.Helper()
		id, err := sp.Enqueue(ctx, queue.Envelope{From: sandbox.AppMailbox, To: to, Profile: sandbox.AppProfile, Source: "relay scanner"}, strings.NewReader(migrateMsg(name)))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ids := map[string]queue.ID{
		"fresh":   enqueue("fresh", "ann@example.com", "ben@example.com"),
		"partial": enqueue("partial", "cat@example.com", "dan@example.com", "eve@example.com"),
		"later":   enqueue("later", "fay@example.com"),
		"dead":    enqueue("dead", "gus@example.com"),
		"copied":  enqueue("copied", "hal@example.com"),
	}
	byID := map[queue.ID]string{}
	for name, id := range ids {
		byID[id] = name
	}
	claimed, err := sp.Claim(ctx, queue.ClaimRequest{Now: now.Add(time.Minute), Max: 10, Lease: time.Minute})
	if err != nil || len(claimed) != len(ids) {
		t.Fatalf("Claim = %d messages, %v", len(claimed), err)
	}
	busy := &queue.Failure{Category: failure.Temporary, Code: 451, Enhanced: "4.3.2", Text: "try again later"}
	for _, m := range claimed {
		switch byID[m.ID] {
		case "partial": // cat delivered; dan deferred; eve not tried
			m.Attempts, m.LastAttempt, m.NextAttempt, m.LastError = 1, now.Add(-2*time.Minute), now.Add(-time.Minute), busy
			m.Recipients[0].Status, m.Recipients[0].Updated = queue.Delivered, now.Add(-2*time.Minute)
			m.Recipients[1].Error, m.Recipients[1].Updated = busy, now.Add(-2*time.Minute)
		case "later":
			m.Attempts, m.LastAttempt, m.NextAttempt, m.LastError = 2, now.Add(-time.Minute), now.Add(time.Hour), busy
			m.Recipients[0].Error, m.Recipients[0].Updated = busy, now.Add(-time.Minute)
		case "dead":
			m.Recipients[0].Status, m.Recipients[0].Error = queue.Failed, &queue.Failure{Category: failure.BadAddress, Code: 550, Enhanced: "5.1.1", Text: "no such user"}
			if err := sp.Update(ctx, m); err != nil {
				t.Fatal(err)
			}
			if err := sp.DeadLetter(ctx, m, "refused for every recipient"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := sp.Update(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := sp.Release(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	// What `m365send queue` prints about the spool; the database must
	// print the same after the move.
	views := func(cfg string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, args := range [][]string{{"queue", "list"}, {"queue", "list", "--dead"}} {
			code, stdout, stderr := run(cfg, args...)
			if code != 0 {
				t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			out[strings.Join(args, " ")] = stdout
		}
		for name, id := range ids {
			code, stdout, stderr := run(cfg, "queue", "show", string(id))
			if code != 0 {
				t.Fatalf("queue show %s (%s): exit %d: %s", id, name, code, stderr)
			}
			out["show "+name] = stdout
		}
		return out
	}
	before := views(onSpool)
	for name, id := range ids {
		list := before["queue list"]
		if name == "dead" {
			list = before["queue list --dead"]
		}
		if !strings.Contains(list, string(id)) {
			t.Fatalf("queue list does not show %s (%s):\n%s", id, name, list)
		}
	}
	if !strings.Contains(before["show partial"], "delivered") || !strings.Contains(before["show partial"], "try again later") {
		t.Fatalf("queue show does not show the partial message's recipients:\n%s", before["show partial"])
	}
	inSpool := func() []queue.ID {
		t.Helper()
		var got []queue.ID
		for _, dead := range []bool{false, true} {
			ms, err := sp.List(ctx, queue.Filter{Dead: dead})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				got = append(got, m.ID)
			}
		}
		slices.Sort(got)
		return got
	}
	all := inSpool()
	if len(all) != len(ids) {
		t.Fatalf("the spool holds %v, want the %d messages", all, len(ids))
	}

	// A database that does not exist: nothing moves.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("postgres", "hunter2-not-shown")
	withPassword := u.String()
	u.Path = "/no_such_database"
	code, stdout, stderr := run(onSpool, "queue", "migrate", "--to", u.String())
	if code != 69 || stdout != "" || !strings.Contains(stderr, "no_such_database") {
		t.Errorf("migrate to a missing database: exit %d, stdout %q, stderr %q; want 69 naming the database, and nothing said moved", code, stdout, stderr)
	}
	if got := inSpool(); !slices.Equal(got, all) {
		t.Errorf("after the failed move the spool holds %v, want %v", got, all)
	}

	// A move the database stops after two messages. The tables exist
	// (pgqueue creates them); "copied" is in the database already, as a
	// move cut short between its commit and the spool's removal leaves
	// it; a trigger refuses a third new row.
	pq, err := pgqueue.Open(ctx, dbURL, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	copied, err := sp.Get(ctx, ids["copied"])
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := pq.Insert(ctx, copied, []byte(migrateMsg("copied"))); err != nil || !ok {
		t.Fatalf("Insert = %v, %v", ok, err)
	}
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := db.Exec(ctx, `
CREATE FUNCTION m365send_test_stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (SELECT count(*) FROM m365send_messages) >= 3 THEN
		RAISE EXCEPTION 'the test stops the database here';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER m365send_test_stop BEFORE INSERT ON m365send_messages FOR EACH ROW EXECUTE FUNCTION m365send_test_stop();`); err != nil {
		t.Fatal(err)
	}
	inDB := func() []queue.ID {
		t.Helper()
		var got []queue.ID
		rows, err := db.Query(ctx, `SELECT id FROM m365send_messages`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, queue.ID(id))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	code, stdout, stderr = run(onSpool, "queue", "migrate", "--to", withPassword)
	if code != 69 || !strings.Contains(stderr, "run the move again") {
		t.Errorf("migrate stopped by the database: exit %d, stderr %q; want 69 saying to run the move again", code, stderr)
	}
	moved, left := inDB(), inSpool()
	want := "moved " + nounCount(len(all)-len(left), "message") + " and 0 dead letters to "
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("migrate stopped by the database printed %q, want %q...", stdout, want)
	}
	if len(moved) != 3 {
		t.Errorf("the database holds %v after the move stopped, want 3 messages", moved)
	}
	for _, id := range moved {
		if slices.Contains(left, id) {
			t.Errorf("%s (%s) is in the database and still in the spool", id, byID[id])
		}
	}
	if got := slices.Sorted(slices.Values(append(slices.Clone(moved), left...))); !slices.Equal(got, all) {
		t.Errorf("database %v + spool %v, want every message once: %v", moved, left, all)
	}
	for _, out := range []string{stdout, stderr} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("migrate printed the URL's password: %q", out)
		}
	}

	// Run again once the database takes them: the rest moves.
	if _, err := db.Exec(ctx, `DROP TRIGGER m365send_test_stop ON m365send_messages`); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(onSpool, "queue", "migrate", "--to", withPassword)
	want = "moved " + nounCount(len(left)-1, "message") + " and 1 dead letter to postgres://postgres:xxxxx@/"
	if code != 0 || !strings.HasPrefix(stdout, want) {
		t.Errorf("second migrate: exit %d, stdout %q, stderr %q; want 0 and %q...", code, stdout, stderr, want)
	}
	if strings.Contains(stdout+stderr, "hunter2") {
		t.Errorf("migrate printed the URL's password: %q %q", stdout, stderr)
	}
	if got := inSpool(); len(got) != 0 {
		t.Errorf("the spool still holds %v after the move", got)
	}
	if got := inDB(); !slices.Equal(got, all) {
		t.Errorf("the database holds %v, want %v", got, all)
	}
	// A third run has nothing to move and copies nothing twice.
	code, stdout, stderr = run(onSpool, "queue", "migrate", "--to", withPassword)
	if code != 0 || !strings.HasPrefix(stdout, "moved 0 messages and 0 dead letters to ") {
		t.Errorf("third migrate: exit %d, stdout %q, stderr %q; want 0 and nothing moved", code, stdout, stderr)
	}
	if got := inDB(); !slices.Equal(got, all) {
		t.Errorf("after the third move the database holds %v, want %v", got, all)
	}
	for _, args := range [][]string{{"queue", "list"}, {"queue", "list", "--dead"}} {
		if code, stdout, stderr := run(onSpool, args...); code != 0 || !regexp.MustCompile(`(?m)^0 (messages|dead letters)$`).MatchString(stdout) {
			t.Errorf("%s on the spool after the move: exit %d, %q %q; want none", strings.Join(args, " "), code, stdout, stderr)
		}
	}

	// The database shows what the spool showed.
	after := views(onDB)
	for k, b := range before {
		if after[k] != b {
			t.Errorf("%s on the spool printed\n%s\non the database\n%s", k, b, after[k])
		}
	}

	// A relay on the database delivers the pending recipients, but not
	// "later" before its time; after `queue retry`, the relay started
	// again delivers it too.
	r := &relayProc{sb: sb, home: home, file: onDB, state: state}
	t.Cleanup(func() {
		if t.Failed() && r.log != nil {
			t.Logf("the relay logged:\n%s", r.log)
		}
	})
	// drain runs the relay until the queue holds only "later" (or,
	// with all, nothing): then nothing more can go out.
	drain := func(all bool) {
		t.Helper()
		r.start(t)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			left, err := pq.List(ctx, queue.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) == 0 || !all && len(left) == 1 && left[0].ID == ids["later"] && left[0].Lease.Token == "" {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("the relay left %d messages queued", len(left))
			}
		}
		if code := r.stop(t); code != 0 {
			t.Errorf("the relay exited %d after SIGTERM, want 0", code)
		}
	}
	drain(false)
	for _, m := range sb.SMTP.Messages() {
		if strings.Contains(string(m.Data), "Subject: migrate later\r\n") {
			t.Errorf("the relay delivered the message whose next try is an hour away")
		}
	}
	if code, _, stderr := run(onDB, "queue", "retry", string(ids["later"])); code != 0 {
		t.Fatalf("queue retry: exit %d: %s", code, stderr)
	}
	drain(true)
	got := map[string]int{}
	for _, m := range sb.SMTP.Messages() {
		sm := migrateSubject.FindSubmatch(m.Data)
		if sm == nil || string(m.Data) != migrateMsg(string(sm[1])) || m.From != sandbox.AppMailbox {
			t.Errorf("delivered a message that was not in the spool, or changed: from %q: %q", m.From, m.Data)
			continue
		}
		for _, rcpt := range m.To {
			got[string(sm[1])+" "+rcpt]++
		}
	}
	wantRcpt := map[string]int{
		"fresh ann@example.com": 1, "fresh ben@example.com": 1,
		"partial dan@example.com": 1, "partial eve@example.com": 1,
		"later fay@example.com": 1, "copied hal@example.com": 1,
	}
	for k, n := range got {
		if wantRcpt[k] != n {
			t.Errorf("%s delivered %d times, want %d", k, n, wantRcpt[k])
		}
	}
	for k := range wantRcpt {
		if got[k] == 0 {
			t.Errorf("%s not delivered", k)
		}
	}
	if dead, err := pq.List(ctx, queue.Filter{Dead: true}); err != nil || len(dead) != 1 || dead[0].ID != ids["dead"] {
		t.Errorf("dead letters on the database: %v, %v; want only %s", dead, err, ids["dead"])
	}
}

// nounCount writes n and noun, adding an s unless n is 1, as the move's
// report does.
func nounCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
