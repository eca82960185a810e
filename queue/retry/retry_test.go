package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/m365send/m365send/sender"
)

func fixed(f float64) func() float64 { return func() float64 { return f } }

func TestBackoffDoublesIsCappedAndJittered(t *testing.T) {
	low := Policy{Rand: fixed(0)}
	high := Policy{Rand: fixed(0.999999)}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i, w := range want {
		attempt := i + 1
		if got := low.Backoff(attempt); got != w/2 {
			t.Errorf("Backoff(%d) with no jitter = %v, want %v", attempt, got, w/2)
		}
		if got := high.Backoff(attempt); got > w || got < w-time.Second {
			t.Errorf("Backoff(%d) with most jitter = %v, want just under %v", attempt, got, w)
		}
	}
	if got := low.Backoff(1000); got != 15*time.Minute {
		t.Errorf("Backoff(1000) = %v", got)
	}
}

func reply(stage sender.Stage, code int, enh, text string) error {
	// The fields are what Judge reads; Kind comes from sender's reply table.
	return &sender.Error{Stage: stage, Code: code, EnhancedCode: enh, Text: text, Temporary: code/100 == 4}
}

func TestJudge(t *testing.T) {
	p := Policy{Rand: fixed(0)}
	for _, c := range []struct {
		name string
		err  error
		want Verdict
	}{
		{"432 4.3.2 too many connections", reply(sender.StageAuth, 432, "4.3.2", "Concurrent connections limit exceeded."),
			Verdict{Mailbox: true, Wait: 30 * time.Second}},
		{"4.4.2 paced", reply(sender.StageMail, 421, "4.4.2", "Message submission rate for this client has exceeded the configured limit"),
			Verdict{Mailbox: true, Wait: 30 * time.Second}},
		{"421 service closing", reply(sender.StageMail, 421, "4.3.2", "Service not available, closing transmission channel"),
			Verdict{Mailbox: true, Wait: 2 * time.Minute}},
		{"451 4.7.0 temporary", reply(sender.StageData, 451, "4.7.0", "Temporary server error. Please try again later."),
			Verdict{Wait: 2 * time.Minute}},
		{"quota", reply(sender.StageData, 554, "5.2.0", "STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message"),
			Verdict{Mailbox: true, Wait: time.Hour}},
		{"auth refused: the operator's to fix", reply(sender.StageAuth, 535, "5.7.3", "Authentication unsuccessful"),
			Verdict{Mailbox: true, Wait: 2 * time.Minute}},
		{"token endpoint down", &sender.Error{Stage: sender.StageToken, Text: "token endpoint unreachable", Temporary: true},
			Verdict{Mailbox: true, Wait: 2 * time.Minute}},
		{"recipient refused", &sender.Error{Stage: sender.StageRcpt, Recipient: "nobody@example.com", Code: 550, EnhancedCode: "5.1.10", Text: "Recipient not found"},
			Verdict{Permanent: true, Recipient: "nobody@example.com"}},
		{"SendAs denied after the data", reply(sender.StageData, 554, "5.2.252", "SendAsDenied"),
			Verdict{Permanent: true}},
		{"invalid message", fmt.Errorf("x: %w", sender.ErrInvalidMessage), Verdict{Permanent: true}},
		{"connection dropped during the data", &sender.Error{Stage: sender.StageData, Text: "EOF", Temporary: true},
			Verdict{Wait: 2 * time.Minute}},
		{"shutting down", context.Canceled, Verdict{Wait: 2 * time.Minute}},
		{"something else", errors.New("disk on fire"), Verdict{Wait: 2 * time.Minute}},
	} {
		if got := p.Judge(c.err, 3); got != c.want {
			t.Errorf("%s: Judge = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestExpired(t *testing.T) {
	queued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := Policy{}
	if p.Expired(queued, queued.Add(5*24*time.Hour-time.Second)) || !p.Expired(queued, queued.Add(5*24*time.Hour)) {
		t.Error("the default retry period is not 5 days")
	}
	if !(Policy{RetryFor: time.Hour}).Expired(queued, queued.Add(time.Hour)) {
		t.Error("RetryFor ignored")
	}
}
