package spool

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func openSpool(t testing.TB, dir string) *Spool {
	t.Helper()
	s, err := Open(dir, Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func enqueue(t testing.TB, s *Spool, profile, body string, to ...string) queue.ID {
	t.Helper()
	id, err := s.Enqueue(context.Background(), queue.Envelope{From: "app@contoso.com", To: to, Profile: profile}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func readAll(t testing.TB, s *Spool, id queue.ID) string {
	t.Helper()
	rc, err := s.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The queue's own behaviour (enqueue, claim, leases, dead letters) is
// tested for every backend by queue/queuetest (conformance_test.go); what
// follows is the spool's own: files, crashes and locks.

// TestDoneRemovesTheDataFile: a delivered message leaves no data behind.
func TestDoneRemovesTheDataFile(t *testing.T) {
	ctx := context.Background()
	s := openSpool(t, t.TempDir())
	id := enqueue(t, s, "work", "data", "x@example.com")
	if _, err := os.Stat(filepath.Join(s.Dir(), "queue", string(id)+".eml")); err != nil {
		t.Fatalf("no data file after Enqueue: %v", err)
	}
	got, err := s.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	if err := s.Done(ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "queue", string(id)+".eml")); !os.IsNotExist(err) {
		t.Errorf("data left after Done: %v", err)
	}
}

func TestOpenRecoversInterruptedWork(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openSpool(t, dir)
	kept := enqueue(t, s, "work", "kept", "x@example.com")
	moving := enqueue(t, s, "work", "moving", "x@example.com")
	torn := enqueue(t, s, "work", "torn", "x@example.com")
	s.Close()
	q, d := filepath.Join(dir, "queue"), filepath.Join(dir, "dead")
	// A move to the dead letters cut short after its first step.
	b, _ := os.ReadFile(filepath.Join(q, string(moving)+".json"))
	if err := os.WriteFile(filepath.Join(d, string(moving)+".json"), []byte(strings.Replace(string(b), `"version": 1,`, `"version": 1, "dead_reason": "x",`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A state whose data never reached the disk.
	os.Remove(filepath.Join(q, string(torn)+".eml"))
	// An old leftover and a fresh one.
	old := filepath.Join(dir, "tmp", "w-old")
	os.WriteFile(old, []byte("x"), 0o600)
	os.Chtimes(old, t0.Add(-2*time.Hour), t0.Add(-2*time.Hour))
	fresh := filepath.Join(dir, "tmp", "w-fresh")
	os.WriteFile(fresh, []byte("x"), 0o600)
	os.Chtimes(fresh, t0, t0)

	s = openSpool(t, dir)
	list, _ := s.List(ctx, queue.Filter{})
	if len(list) != 1 || list[0].ID != kept {
		t.Errorf("queue after recovery = %v, want only %s", list, kept)
	}
	dead, _ := s.List(ctx, queue.Filter{Dead: true})
	if len(dead) != 1 || dead[0].ID != moving || readAll(t, s, moving) != "moving" {
		t.Errorf("dead letters after recovery = %v", dead)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Error("old leftover kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh temporary file removed (it may be an Enqueue running in another process)")
	}
}
