// Package queuetest is the conformance test of queue.Queue backends: every
// backend (the on-disk spool, PostgreSQL) runs Run from its own tests, so
// that they keep the contract of package queue the same way.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
)

// T0 is the time of the clock Run gives the backend.
var T0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// Store makes a fresh, empty store for t and returns a function that
// opens a new handle on it (as another process would) whose clock is
// clock. Run closes the handles it opens.
type Store func(t *testing.T, clock func() time.Time) (open func() queue.Queue)

// Run runs the conformance tests on the backend that store makes.
func Run(t *testing.T, store Store) {
	tests := []struct {
		name string
		f    func(*testing.T, func() queue.Queue)
	}{
		{"EnqueueStoresDataAndPendingRecipients", testEnqueue},
		{"ClaimLeasesDueMessagesOnce", testClaim},
		{"ClaimOrderMaxSkip", testClaimOrder},
		{"ExpiredLeaseIsTakenOver", testExpired},
		{"DeadLetterAndRevive", testDead},
		{"ConcurrentClaimsNeverOverlap", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := store(t, func() time.Time { return T0 })
			tt.f(t, func() queue.Queue {
				q := open()
				t.Cleanup(func() { _ = q.Close() })
				return q
			})
		})
	}
}

func enqueue(t *testing.T, q queue.Queue, profile, body string, to ...string) queue.ID {
	t.Helper()
	id, err := q.Enqueue(context.Background(), queue.Envelope{From: "app@contoso.com", To: to, Profile: profile}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func readAll(t *testing.T, q queue.Queue, id queue.ID) string {
	t.Helper()
	rc, err := q.Open(context.Background(), id)
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

func testEnqueue(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	id := enqueue(t, s, "work", "Subject: hi\r\n\r\nbody\r\n", "a@example.com", "b@example.com")
	m, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "app@contoso.com" || m.Profile != "work" || m.Size != 21 || !m.Queued.Equal(T0) || !m.NextAttempt.Equal(T0) || m.DeadReason != "" {
		t.Errorf("message = %+v", m)
	}
	if got := m.Pending(); len(got) != 2 || got[0] != "a@example.com" || got[1] != "b@example.com" {
		t.Errorf("pending = %v", got)
	}
	if got := readAll(t, s, id); got != "Subject: hi\r\n\r\nbody\r\n" {
		t.Errorf("data = %q", got)
	}
	// Another handle sees it.
	list, err := open().List(ctx, queue.Filter{})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("List from a second handle = %v, %v", list, err)
	}
	if _, err := s.Enqueue(ctx, queue.Envelope{Profile: "work"}, strings.NewReader("x")); failure.KindOf(err) != failure.Usage {
		t.Errorf("no recipient: %v", err)
	}
	for _, bad := range []queue.ID{"../../etc/passwd", "nosuch"} {
		if _, err := s.Get(ctx, bad); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", bad, err)
		}
		if _, err := s.Open(ctx, bad); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", bad, err)
		}
		if err := s.Delete(ctx, bad); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrNotFound", bad, err)
		}
	}
}

func testClaim(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	a := enqueue(t, s, "work", "a", "x@example.com")
	b := enqueue(t, s, "other", "b", "x@example.com")

	got, err := s.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 10, Lease: time.Minute, Skip: []string{"other"}})
	if err != nil || len(got) != 1 || got[0].ID != a || got[0].Lease.Token == "" || got[0].Lease.Until.Before(T0.Add(time.Minute)) {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	if again, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 10, Skip: []string{"other"}}); len(again) != 0 {
		t.Errorf("claimed twice through one handle: %v", again)
	}
	other := open()
	if again, _ := other.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 10}); len(again) != 1 || again[0].ID != b {
		t.Errorf("another handle claimed %v, want only %s", again, b)
	}
	if err := other.Delete(ctx, a); !errors.Is(err, queue.ErrBusy) {
		t.Errorf("Delete of a leased message = %v, want ErrBusy", err)
	}
	if err := other.Retry(ctx, a, T0); !errors.Is(err, queue.ErrBusy) {
		t.Errorf("Retry of a leased message = %v, want ErrBusy", err)
	}

	m := got[0]
	m.Attempts++
	m.NextAttempt = T0.Add(5 * time.Minute)
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
	if err := s.Done(ctx, m); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Done after Release = %v, want ErrLeaseLost", err)
	}
	if due, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(4 * time.Minute), Max: 10, Skip: []string{"other"}}); len(due) != 0 {
		t.Errorf("claimed before NextAttempt: %v", due)
	}
	due, err := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(5 * time.Minute), Max: 10, Skip: []string{"other"}})
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
	if _, err := s.Open(ctx, a); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Open after Done = %v", err)
	}
}

func testClaimOrder(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	for i := range 5 {
		enqueue(t, s, "work", fmt.Sprint(i), "x@example.com")
	}
	// Make the first claimed due last, and hold one.
	first, err := s.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 5})
	if err != nil || len(first) != 5 {
		t.Fatalf("Claim = %v, %v", first, err)
	}
	for i, m := range first {
		m.NextAttempt = T0.Add(time.Duration(5-i) * time.Minute)
		if i == 2 {
			m.Profile = "held"
		}
		if err := s.Update(ctx, m); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(time.Hour), Max: 3, Skip: []string{"held"}})
	if err != nil || len(got) != 3 {
		t.Fatalf("Claim = %v, %v", got, err)
	}
	want := []queue.ID{first[4].ID, first[3].ID, first[1].ID}
	for i := range want {
		if got[i].ID != want[i] {
			t.Errorf("claim %d = %s, want %s (oldest NextAttempt first, held profile skipped)", i, got[i].ID, want[i])
		}
	}
}

func testExpired(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	enqueue(t, s, "work", "a", "x@example.com")
	first, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 1, Lease: time.Minute})
	second, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(2 * time.Minute), Max: 1, Lease: time.Minute})
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("claims %v, %v", first, second)
	}
	if err := s.Update(ctx, first[0]); !errors.Is(err, queue.ErrLeaseLost) {
		t.Errorf("Update with the expired lease = %v, want ErrLeaseLost", err)
	}
	// Renewing by Update keeps it.
	second[0].Lease.Until = T0.Add(time.Hour)
	if err := s.Update(ctx, second[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(30 * time.Minute), Max: 1}); len(got) != 0 {
		t.Errorf("renewed lease taken over: %v", got)
	}
}

func testDead(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	id := enqueue(t, s, "work", "data", "x@example.com", "y@example.com")
	got, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 1})
	if len(got) != 1 {
		t.Fatalf("Claim = %v", got)
	}
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
	if g, err := s.Get(ctx, id); err != nil || g.DeadReason == "" {
		t.Errorf("Get of a dead letter = %+v, %v", g, err)
	}
	if readAll(t, s, id) != "data" {
		t.Error("dead letter's data lost")
	}
	if c, _ := s.Claim(ctx, queue.ClaimRequest{Now: T0.Add(time.Hour), Max: 1}); len(c) != 0 {
		t.Errorf("dead letter claimed: %v", c)
	}
	later := T0.Add(time.Hour)
	if err := s.Retry(ctx, id, later); err != nil {
		t.Fatal(err)
	}
	back, err := s.Get(ctx, id)
	if err != nil || back.DeadReason != "" || !back.Queued.Equal(later) || len(back.Pending()) != 1 || back.Pending()[0] != "y@example.com" {
		t.Fatalf("revived = %+v, %v", back, err)
	}
	if c, _ := s.Claim(ctx, queue.ClaimRequest{Now: later, Max: 1}); len(c) != 1 || c[0].ID != id {
		t.Errorf("revived message not claimable: %v", c)
	} else if err := s.Release(ctx, c[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get after Delete = %v", err)
	}
}

// Claims from several handles and goroutines at once never give one
// message to two of them.
func testConcurrent(t *testing.T, open func() queue.Queue) {
	ctx := context.Background()
	s := open()
	const n = 60
	for i := range n {
		enqueue(t, s, "work", fmt.Sprint(i), "x@example.com")
	}
	handles := []queue.Queue{s, open()}
	var mu sync.Mutex
	seen := map[queue.ID]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			h := handles[w%len(handles)]
			for {
				got, err := h.Claim(ctx, queue.ClaimRequest{Now: T0, Max: 4})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					mu.Lock()
					seen[m.ID]++
					mu.Unlock()
					if err := h.Done(ctx, m); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d messages claimed, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}
