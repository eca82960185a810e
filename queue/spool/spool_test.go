package spool

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
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

func TestEnqueueStoresDataAndPendingRecipients(t *testing.T) {
	s := openSpool(t, t.TempDir())
	id := enqueue(t, s, "work", "Subject: hi\r\n\r\nbody\r\n", "a@example.com", "b@example.com")
	m, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "app@contoso.com" || m.Profile != "work" || m.Size != 21 || !m.Queued.Equal(t0) || !m.NextAttempt.Equal(t0) {
		t.Errorf("message = %+v", m)
	}
	if got := m.Pending(); len(got) != 2 || got[0] != "a@example.com" || got[1] != "b@example.com" {
		t.Errorf("pending = %v", got)
	}
	if got := readAll(t, s, id); got != "Subject: hi\r\n\r\nbody\r\n" {
		t.Errorf("data = %q", got)
	}
	// A second process sees it.
	s2 := openSpool(t, s.Dir())
	list, err := s2.List(context.Background(), queue.Filter{})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("List from a second spool = %v, %v", list, err)
	}
	if _, err := s.Enqueue(context.Background(), queue.Envelope{Profile: "work"}, strings.NewReader("x")); failure.KindOf(err) != failure.Usage {
		t.Errorf("no recipient: %v", err)
	}
}

func TestClaimLeasesDueMessagesOnce(t *testing.T) {
	ctx := context.Background()
	s := openSpool(t, t.TempDir())
	a := enqueue(t, s, "work", "a", "x@example.com")
	b := enqueue(t, s, "other", "b", "x@example.com")

	got, err := s.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 10, Lease: time.Minute, Skip: []string{"other"}})
	if err != nil || len(got) != 1 || got[0].ID != a || got[0].Lease.Token == "" || !got[0].Lease.Until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	// Leased: neither this process nor another gets it again.
	if again, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 10, Skip: []string{"other"}}); len(again) != 0 {
		t.Errorf("claimed twice in one process: %v", again)
	}
	other := openSpool(t, s.Dir())
	if again, _ := other.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 10}); len(again) != 1 || again[0].ID != b {
		t.Errorf("another process claimed %v, want only %s", again, b)
	}
	if err := other.Delete(ctx, a); !errors.Is(err, queue.ErrBusy) {
		t.Errorf("Delete of a leased message = %v, want ErrBusy", err)
	}
	if err := other.Retry(ctx, a, t0); !errors.Is(err, queue.ErrBusy) {
		t.Errorf("Retry of a leased message = %v, want ErrBusy", err)
	}

	// Record a try, then release: due again at NextAttempt, with the state kept.
	m := got[0]
	m.Attempts++
	m.NextAttempt = t0.Add(5 * time.Minute)
	m.Recipients[0].Error = &queue.Failure{Category: failure.Temporary, Code: 451, Enhanced: "4.7.0", Text: "Temporary server error", Advice: "retry later"}
	m.LastError = m.Recipients[0].Error
	if err := s.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, m); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Update after Release = %v, want ErrLeaseLost", err)
	}
	if due, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0.Add(4 * time.Minute), Max: 10, Skip: []string{"other"}}); len(due) != 0 {
		t.Errorf("claimed before NextAttempt: %v", due)
	}
	due, err := s.Claim(ctx, queue.ClaimRequest{Now: t0.Add(5 * time.Minute), Max: 10, Skip: []string{"other"}})
	if err != nil || len(due) != 1 {
		t.Fatalf("Claim at NextAttempt = %v, %v", due, err)
	}
	le := due[0].LastError
	if due[0].Attempts != 1 || le == nil || le.Category != failure.Temporary || le.Code != 451 || le.Advice != "retry later" || failure.KindOf(le) != failure.Temporary {
		t.Errorf("stored state = %+v, last error %+v", due[0], le)
	}
	if err := s.Done(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, a); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get after Done = %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "queue", string(a)+".eml")); !os.IsNotExist(err) {
		t.Errorf("data left after Done: %v", err)
	}
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	ctx := context.Background()
	s := openSpool(t, t.TempDir())
	enqueue(t, s, "work", "a", "x@example.com")
	first, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 1, Lease: time.Minute})
	second, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0.Add(2 * time.Minute), Max: 1, Lease: time.Minute})
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("claims %v, %v", first, second)
	}
	if err := s.Update(ctx, first[0]); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Update with the expired lease = %v, want ErrLeaseLost", err)
	}
	// Renewing by Update keeps it.
	second[0].Lease.Until = t0.Add(time.Hour)
	if err := s.Update(ctx, second[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0.Add(30 * time.Minute), Max: 1}); len(got) != 0 {
		t.Errorf("renewed lease taken over: %v", got)
	}
}

func TestDeadLetterAndRevive(t *testing.T) {
	ctx := context.Background()
	s := openSpool(t, t.TempDir())
	id := enqueue(t, s, "work", "data", "x@example.com", "y@example.com")
	got, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0, Max: 1})
	m := got[0]
	m.Recipients[0].Status = queue.Delivered
	m.Recipients[1].Status = queue.Failed
	if err := s.DeadLetter(ctx, m, "the null sender cannot be told"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List(ctx, queue.Filter{}); len(list) != 0 {
		t.Errorf("queue after DeadLetter: %v", list)
	}
	dead, err := s.List(ctx, queue.Filter{Dead: true})
	if err != nil || len(dead) != 1 || dead[0].DeadReason != "the null sender cannot be told" {
		t.Fatalf("dead letters = %v, %v", dead, err)
	}
	if readAll(t, s, id) != "data" {
		t.Error("dead letter's data lost")
	}
	if c, _ := s.Claim(ctx, queue.ClaimRequest{Now: t0.Add(time.Hour), Max: 1}); len(c) != 0 {
		t.Errorf("dead letter claimed: %v", c)
	}
	later := t0.Add(time.Hour)
	if err := s.Retry(ctx, id, later); err != nil {
		t.Fatal(err)
	}
	back, err := s.Get(ctx, id)
	if err != nil || back.DeadReason != "" || !back.Queued.Equal(later) || len(back.Pending()) != 1 || back.Pending()[0] != "y@example.com" {
		t.Fatalf("revived = %+v, %v", back, err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
	if _, err := s.Get(ctx, "../../etc/passwd"); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get of a path = %v", err)
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
