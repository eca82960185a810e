package queue_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/sender/smtptest"
)

func TestCrashMidBatchSendsNoAcceptedMessageAgain(t *testing.T) {
	// Five messages go over one connection. When the third MAIL FROM
	// arrives, smtptest has accepted the first two and the client has
	// read both 250s; the spool is copied then, as a crash would leave it
	// on disk. A Deliverer started on that copy must send the other three
	// only: the first two were recorded as their replies came.
	dir := filepath.Join(t.TempDir(), "spool")
	w := newWorldIn(t, smtptest.Options{Faults: []smtptest.Fault{{Stage: smtptest.StageMail, N: 3, Stall: true}}}, queue.Policy{}, dir, time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC))
	var to []string
	for i := range 5 {
		to = append(to, fmt.Sprintf("m%d@example.com", i+1))
		w.enqueue(t, mailbox, to[i], fmt.Sprintf("batch %d", i+1))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = w.d.Run(runCtx)
	}()
	if err := w.srv.WaitCount(ctx, smtptest.StageMail, 3); err != nil {
		t.Fatal(err)
	}
	accepted := w.srv.Messages()
	if len(accepted) != 2 {
		t.Fatalf("smtptest accepted %d messages before the third MAIL FROM, want 2", len(accepted))
	}
	crashed := filepath.Join(t.TempDir(), "crashed")
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatalf("copy the spool: %v", err)
	}
	// End the first Deliverer: the stalled connection closes with the
	// server.
	_ = w.srv.Close()
	stop()
	<-ran

	w2 := newWorldIn(t, smtptest.Options{}, queue.Policy{}, crashed, w.clk.Now())
	again := w2.run(t, 3)
	var got []string
	for _, m := range again {
		got = append(got, m.To...)
	}
	for _, m := range accepted {
		for _, a := range m.To {
			if slices.Contains(got, a) {
				t.Errorf("the message to %s, accepted before the crash, was sent again after it", a)
			}
		}
	}
	// The other three, once each (the queue's order is not the
	// enqueue order).
	var want []string
	for _, a := range to {
		if !slices.ContainsFunc(accepted, func(m smtptest.Message) bool { return slices.Contains(m.To, a) }) {
			want = append(want, a)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("after the crash smtptest got messages to %v, want %v", got, want)
	}
}
