package queueadmin

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/backend"
	"github.com/m365send/m365send/sender"
)

// Handoff is where send and sendmail hand a message to the queue: when the
// configuration file names a queue (or sets queue_always), or send was
// given --queue.
type Handoff struct {
	// Dir is the queue: its folder, or a postgres:// URL.
	Dir    string
	always bool // queue_always: every message, without trying first
}

// LoadHandoff returns the Handoff the configuration file of opts (or
// force, for send --queue) asks for, or nil when messages are not to be
// queued.
func LoadHandoff(opts config.LoadOptions, force bool) (*Handoff, error) {
	g, err := config.LoadGlobals(opts)
	if err != nil {
		return nil, err
	}
	if g.Queue == "" && !g.QueueAlways && !force {
		return nil, nil
	}
	dir, err := SpoolDir(g)
	if err != nil {
		return nil, err
	}
	return &Handoff{Dir: dir, always: g.QueueAlways}, nil
}

// Always reports whether every message goes to the queue without a try
// (queue_always = true).
func (h *Handoff) Always() bool { return h != nil && h.always }

// Takes reports whether a message that met err (nil: not tried yet) goes
// to the queue: every message with queue_always, else one that met a
// temporary failure or the sending quota.
func (h *Handoff) Takes(err error) bool {
	if h == nil {
		return false
	}
	if h.always {
		return true
	}
	k := failure.KindOf(err)
	return err != nil && (k == failure.Temporary || k == failure.Quota)
}

// Enqueue stores the message m as it would be sent (sender.Message.WriteTo)
// for the envelope recipients to, to be delivered by profile, and returns
// its ID.
func (h *Handoff) Enqueue(ctx context.Context, profile, from string, to []string, m *sender.Message, source string) (queue.ID, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := m.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	return h.store(ctx, profile, from, to, pr, source)
}

// EnqueueFile stores the finished message in the file path (CRLF line
// endings), as Enqueue does.
func (h *Handoff) EnqueueFile(ctx context.Context, profile, from string, to []string, path, source string) (queue.ID, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hand the message to the queue: %w", err)
	}
	defer f.Close()
	return h.store(ctx, profile, from, to, f, source)
}

// store enqueues data into the queue.
func (h *Handoff) store(ctx context.Context, profile, from string, to []string, data io.Reader, source string) (queue.ID, error) {
	q, err := backend.Open(ctx, h.Dir, backend.Options{})
	if err != nil {
		return "", err
	}
	defer q.Close()
	id, err := q.Enqueue(context.WithoutCancel(ctx), queue.Envelope{From: from, To: to, Profile: profile, Source: source}, data)
	if err != nil {
		return "", fmt.Errorf("hand the message to the queue in %s: %w", backend.Describe(h.Dir), err)
	}
	return id, nil
}

// QueuedNote is the warning printed for a message handed to the queue.
func QueuedNote(id queue.ID, dir string, err error) string {
	why := "queue_always is set"
	if err != nil {
		why = "sending failed for now: " + err.Error()
	}
	return fmt.Sprintf("queued %s in %s (%s); `m365send queue flush` or a relay delivers it", id, backend.Describe(dir), why)
}

// EnvelopeAddrs returns the bare addresses of "Name <a@b>" or "a@b" lists.
func EnvelopeAddrs(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, s := range l {
			if a, err := mail.ParseAddress(s); err == nil {
				out = append(out, a.Address)
			} else {
				out = append(out, strings.TrimSpace(s))
			}
		}
	}
	return out
}
