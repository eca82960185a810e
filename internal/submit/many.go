package submit

import (
	"context"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/sender"
)

// Builder makes a message for the profile's mailbox and display name, or
// says why it cannot (a bad address, a missing attachment).
type Builder func(mailbox, fromName string) (*sender.Message, error)

// Item is one message's outcome in SendMany.
type Item struct {
	// Index is the message's place in the builders given, from 0.
	Index int
	// Result is the sender's result (its Err too) when the message got
	// that far; the zero Result when it could not be built.
	Result sender.Result
	// Err is why the message was not sent (its Builder's error, or
	// Result.Err); nil when it was.
	Err error
}

// SendMany opens the session opts select once and sends the message each
// of builds makes, in order, over one connection (sender.SendEach: one
// TLS handshake and one AUTH for all of them), calling report with every
// message's Item, in the order of builds, as soon as it and those before
// it are known. A message that cannot be built or is refused fails alone;
// when the connection is lost for good, the messages after it fail with
// that error. The queue is never used: a message that fails for now is
// reported as such, for the caller to send again (docs/commands.md). With
// queue_always = true, which asks that every message go to the queue,
// SendMany refuses (a usage failure) and sends nothing. The error is the
// session's or that refusal (then nothing was sent and report is not
// called).
func SendMany(ctx context.Context, opts session.Options, builds []Builder, report func(Item)) error {
	h, err := queueadmin.LoadHandoff(opts.LoadOptions(), false)
	if err != nil {
		return err
	}
	if h.Always() {
		return failure.New(failure.Usage, "--batch and several --raw send over one connection and never queue, but queue_always = true asks that every message go to the queue",
			"send the messages one by one with `m365send send` (each goes to the queue), or leave queue_always out")
	}
	s, err := session.Open(ctx, opts)
	if err != nil {
		return err
	}
	items := make([]*Item, len(builds))
	var msgs []*sender.Message
	var at []int // at[j] is the index in builds of msgs[j]
	for i, b := range builds {
		m, err := b(s.Mailbox, s.Profile.FromName)
		if err != nil {
			items[i] = &Item{Index: i, Err: err}
			continue
		}
		msgs = append(msgs, m)
		at = append(at, i)
	}
	next := 0
	flush := func() {
		for next < len(items) && items[next] != nil {
			report(*items[next])
			next++
		}
	}
	flush()
	record := func(j int, r sender.Result) {
		i := at[j]
		if items[i] == nil {
			items[i] = &Item{Index: i, Result: r, Err: r.Err}
		}
	}
	if len(msgs) > 0 {
		sent := false
		results, _ := s.Sender.SendEach(ctx, func(j int, r sender.Result) {
			record(j, r)
			flush()
			sent = sent || r.Err == nil
		}, msgs...)
		if sent {
			s.Health.Sent()
		}
		// Messages the sender failed without trying (a lost connection)
		// are only in the results.
		for j, r := range results {
			record(j, r)
		}
	}
	flush()
	return nil
}
