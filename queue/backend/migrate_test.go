package backend

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/pgtest"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/pgqueue"
	"github.com/m365send/m365send/queue/spool"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// Moving a spool to the database keeps every message, dead letter, ID,
// state and byte; a message a relay is delivering stays; a move cut
// short runs again without a copy twice.
func TestMoveToDatabase(t *testing.T) {
	ctx := context.Background()
	url := pg.Database(t)
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	sp, err := spool.Open(dir, spool.Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	env := queue.Envelope{From: "app@contoso.com", To: []string{"a@example.com", "b@example.com"}, Profile: "work"}
	var ids []queue.ID
	for _, body := range []string{"one", "two", "three", "dead", "busy"} {
		e := env
		if body == "busy" {
			e.Profile = "other"
		}
		id, err := sp.Enqueue(ctx, e, strings.NewReader("Subject: "+body+"\r\n\r\n"+body+"\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// "two" waits for its next try; "dead" is a dead letter.
	claimed, err := sp.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 5, Skip: []string{"other"}})
	if err != nil || len(claimed) != 4 {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	for _, m := range claimed {
		switch m.ID {
		case ids[1]:
			m.Attempts, m.NextAttempt = 2, t0.Add(time.Hour)
			m.Recipients[0].Status = queue.Delivered
			if err := sp.Update(ctx, m); err != nil {
				t.Fatal(err)
			}
		case ids[3]:
			if err := sp.DeadLetter(ctx, m, "refused"); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := sp.Release(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	other, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// "busy" is being delivered by another relay on the spool.
	busy, err := other.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 5, Skip: []string{"work"}})
	if err != nil || len(busy) != 1 || busy[0].ID != ids[4] {
		t.Fatalf("busy claim = %v, %v", busy, err)
	}
	busyID := busy[0].ID

	pq, err := pgqueue.Open(ctx, url, pgqueue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	// A move cut short: "one" already copied, not yet removed.
	first, err := sp.Get(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := pq.Insert(ctx, first, []byte("Subject: one\r\n\r\none\r\n")); err != nil || !ok {
		t.Fatalf("Insert = %v, %v", ok, err)
	}

	mv, err := MoveToDatabase(ctx, sp, pq)
	if err != nil {
		t.Fatal(err)
	}
	if mv.Queued != 3 || mv.Dead != 1 || mv.Busy != 1 {
		t.Errorf("moved %+v, want 3 queued, 1 dead, 1 busy", mv)
	}
	left, _ := sp.List(ctx, queue.Filter{})
	if len(left) != 1 || left[0].ID != busyID {
		t.Errorf("left in the spool: %v, want only the busy %s", left, busyID)
	}
	if dead, _ := sp.List(ctx, queue.Filter{Dead: true}); len(dead) != 0 {
		t.Errorf("dead letters left in the spool: %v", dead)
	}
	queued, _ := pq.List(ctx, queue.Filter{})
	dead, _ := pq.List(ctx, queue.Filter{Dead: true})
	if len(queued) != 3 || len(dead) != 1 || dead[0].ID != ids[3] || dead[0].DeadReason != "refused" {
		t.Fatalf("database: queued %v, dead %v", queued, dead)
	}
	for _, m := range queued {
		if m.ID == ids[1] && (m.Attempts != 2 || !m.NextAttempt.Equal(t0.Add(time.Hour)) || len(m.Pending()) != 1) {
			t.Errorf("state not kept: %+v", m)
		}
		rc, err := pq.Open(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.HasPrefix(string(b), "Subject: ") || int64(len(b)) != m.Size {
			t.Errorf("%s data = %q (size %d)", m.ID, b, m.Size)
		}
	}
	// Once the relay lets go, a second run moves the rest.
	if err := other.Release(ctx, busy[0]); err != nil {
		t.Fatal(err)
	}
	mv, err = MoveToDatabase(ctx, sp, pq)
	if err != nil || mv.Queued != 1 || mv.Busy != 0 {
		t.Errorf("second run = %+v, %v", mv, err)
	}
	if all, _ := pq.List(ctx, queue.Filter{}); len(all) != 4 {
		t.Errorf("database holds %d queued, want 4", len(all))
	}
}

func TestMovedSaysWhatMovedInEnglish(t *testing.T) {
	for _, tc := range []struct {
		mv   Moved
		want string
	}{
		{Moved{}, "0 messages and 0 dead letters"},
		{Moved{Queued: 1, Dead: 1}, "1 message and 1 dead letter"},
		{Moved{Queued: 4, Dead: 2, Busy: 1}, "4 messages and 2 dead letters"},
	} {
		if got := tc.mv.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.mv, got, tc.want)
		}
	}
}
