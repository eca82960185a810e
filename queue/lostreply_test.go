package queue_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/sender/smtptest"
)

func TestLostRepliesNeverMakeAThirdCopy(t *testing.T) {
	// Exchange takes every copy and the reply to the final dot is always
	// lost: the queue's retry tells the sender the message went before,
	// and after the second lost reply it is never sent again, nor bounced.
	w := newWorld(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, AcceptThenDrop: true}}}, queue.Policy{})
	id := w.enqueue(t, mailbox, "ops@example.com", "lost twice")
	msgs := w.run(t, 2)
	if len(msgs) != 2 || w.srv.Count(smtptest.StageEndOfData) != 2 {
		t.Fatalf("smtptest got %d copies and %d final dots, want 2 and 2", len(msgs), w.srv.Count(smtptest.StageEndOfData))
	}
	for _, m := range msgs {
		if len(m.To) != 1 || m.To[0] != "ops@example.com" {
			t.Errorf("a message went to %v: a notification of a message that may have arrived", m.To)
		}
	}
	if got := w.tr.sentBefore; !slices.Equal(got, []bool{false, true}) {
		t.Errorf("SentBefore of the tries %v, want [false true]", got)
	}
	m, err := w.q.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	r := m.Recipients[0]
	if r.Status != queue.MaybeDelivered || !r.MaybeSent || r.Error == nil || !strings.Contains(r.Error.Advice, "twice") {
		t.Errorf("recipient state %+v, want maybe-delivered with the hint", r)
	}
	if !strings.Contains(m.DeadReason, "may have been delivered") {
		t.Errorf("dead reason %q", m.DeadReason)
	}
	log := w.logged()
	if !strings.Contains(log, "level=WARN msg=\"queue: maybe delivered") || !strings.Contains(log, "id="+string(id)) || !strings.Contains(log, "hint=") {
		t.Errorf("no warning with the ID and the hint in the log:\n%s", log)
	}
}

func TestLostReplyThenAcceptedIsDone(t *testing.T) {
	// The first reply is lost, the queue's retry is answered: two copies
	// at most, and the message is done.
	w := newWorld(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 1, AcceptThenDrop: true}}}, queue.Policy{})
	id := w.enqueue(t, mailbox, "ops@example.com", "lost once")
	msgs := w.run(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("smtptest got %d copies, want 2", len(msgs))
	}
	if got := w.tr.sentBefore; !slices.Equal(got, []bool{false, true}) {
		t.Errorf("SentBefore of the tries %v, want [false true]", got)
	}
	if _, err := w.q.Get(context.Background(), id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get after delivery: %v, want ErrNotFound (done)", err)
	}
	if dead, _ := w.q.List(context.Background(), queue.Filter{Dead: true}); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
}

func TestTemporaryRefusalOfOneRecipientDefersItAlone(t *testing.T) {
	// Exchange answers 452 to one RCPT TO: the other recipient gets the
	// message at once, and the refused one a backoff later, once.
	w := newWorld(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageRcpt, N: 1, Reply: "452 4.2.2 Mailbox full (fake)"}}}, queue.Policy{})
	start := w.clk.Now()
	id := w.enqueue(t, mailbox, "full@example.com,ops@example.com", "one full")
	msgs := w.run(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("smtptest got %d messages, want 2", len(msgs))
	}
	if got := msgs[0].To; !slices.Equal(got, []string{"ops@example.com"}) {
		t.Errorf("first delivery to %v, want only the recipient not refused", got)
	}
	if got := msgs[1].To; !slices.Equal(got, []string{"full@example.com"}) {
		t.Errorf("second delivery to %v, want the refused recipient alone", got)
	}
	if w.tr.accepted[0].After(start) {
		t.Errorf("the other recipient waited until %v (fake time; start %v)", w.tr.accepted[0], start)
	}
	if !w.tr.accepted[1].After(start) {
		t.Errorf("the refused recipient was tried again at once")
	}
	if n := w.srv.Count(smtptest.StageRcpt); n != 3 {
		t.Errorf("%d RCPT TO, want 3 (refused, the other, the retry)", n)
	}
	if _, err := w.q.Get(context.Background(), id); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get after delivery: %v, want ErrNotFound (done)", err)
	}
}

func TestLostReplyThenRetryPeriodOverIsNotBounced(t *testing.T) {
	// The first reply is lost and every later try is refused for now
	// until the retry period ends: the message may have arrived, so no
	// notification says it failed.
	faults := []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 1, AcceptThenDrop: true}}
	for n := 2; n <= 40; n++ {
		faults = append(faults, smtptest.Fault{Stage: smtptest.StageMail, N: n, Reply: "451 4.7.0 Temporary server error (fake)"})
	}
	w := newWorld(t, smtptest.Options{Faults: faults}, queue.Policy{RetryFor: time.Hour})
	id := w.enqueue(t, mailbox, "ops@example.com", "lost then busy")
	msgs := w.run(t, 1)
	if len(msgs) != 1 || w.srv.Count(smtptest.StageMail) < 3 {
		t.Fatalf("smtptest got %d messages after %d MAIL FROM; want only the first copy, after several tries", len(msgs), w.srv.Count(smtptest.StageMail))
	}
	m, err := w.q.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if r := m.Recipients[0]; r.Status != queue.MaybeDelivered || !r.MaybeSent {
		t.Errorf("recipient state %+v, want maybe-delivered", r)
	}
	if slices.Contains(w.tr.sentBefore[1:], false) {
		t.Errorf("SentBefore of the tries %v: a retry after the lost reply did not say so", w.tr.sentBefore)
	}
}
