// Package submit sends one message through a profile's mailbox, or hands it
// to the queue instead (internal/queueadmin's Handoff) when the
// configuration file asks for that or sending fails for now: what
// `m365send send` (Send) and the sendmail interface (Sendmail) share, so
// that both try, fall back and report alike.
package submit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/internal/sysmail"
	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/sender"
)

// Outcome is what became of a message: sent (Results) or queued (QueueID).
type Outcome struct {
	// Mailbox is the mailbox the profile sends as.
	Mailbox string
	// From is the envelope sender.
	From string
	// Results are the sender's results, when the message was sent.
	Results []sender.Result
	// QueueID is the message's ID in the queue when it was handed there
	// instead of (or after failing for now) being sent; Note is then the
	// warning that says so, and To its envelope recipients.
	QueueID queue.ID
	Note    string
	To      []string
}

// Send opens the session opts select and sends the message build makes
// for its mailbox (and the profile's display name). With a queue in the
// configuration file, or force (send --queue), a message that fails for
// now, or every message with queue_always, goes to the queue as "m365send
// send" instead. A failure to queue reports the sending failure, if any.
func Send(ctx context.Context, opts session.Options, force bool, build func(mailbox, fromName string) (*sender.Message, error)) (*Outcome, error) {
	h, err := queueadmin.LoadHandoff(opts.LoadOptions(), force)
	if err != nil {
		return nil, err
	}
	opts.OneTry = h != nil
	s, err := session.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	m, err := build(s.Mailbox, s.Profile.FromName)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Mailbox: s.Mailbox, From: m.From}
	if out.From == "" {
		out.From = s.Mailbox
	}
	var sendErr error
	if !h.Takes(nil) {
		out.Results, sendErr = s.Transport.Send(ctx, m)
		if sendErr == nil && len(out.Results) == 1 && out.Results[0].Err != nil {
			sendErr = out.Results[0].Err
		}
	}
	if !h.Takes(sendErr) {
		if sendErr != nil {
			return nil, sendErr
		}
		s.Health.Sent()
		return out, nil
	}
	out.To = queueadmin.EnvelopeAddrs(m.To, m.Cc, m.Bcc)
	id, err := h.Enqueue(ctx, s.Profile.Name, out.From, out.To, m, "m365send send")
	if err != nil {
		if sendErr != nil {
			return nil, sendErr
		}
		return nil, err
	}
	out.QueueID, out.Note = id, queueadmin.QueuedNote(id, h.Dir, sendErr)
	return out, nil
}

// Sendmail is the sendmail interface: it parses sendmail's options in
// args, reads the message on stdin (nil: empty) into a private temporary
// file, checks it, opens the session so selects (-C overrides its
// ConfigFile, -v traces on its Stderr) and sends it, or hands it to the
// queue as Send does, as "sendmail". Nothing is sent unless the whole
// message was read and checked.
func Sendmail(ctx context.Context, args []string, stdin io.Reader, so session.Options) (*Outcome, error) {
	opts, err := sendmail.ParseArgs(args)
	if err != nil {
		return nil, err
	}
	opts.LocalNames = true // mapped by the aliases below
	in := stdin
	if in == nil {
		in = eofReader{}
	}
	if err := compose.CheckInput(in); err != nil {
		return nil, err
	}
	// The body goes to a private temporary file as it is read, so a
	// large message never sits in memory (docs/sendmail.md).
	msg, err := sendmail.Spool(in, opts, "")
	if err != nil {
		return nil, readInputError(err, "read the message on standard input")
	}
	defer func() { _ = msg.Remove() }()

	if opts.ConfigFile != "" {
		so.ConfigFile = opts.ConfigFile
	}
	if opts.Verbose {
		so.Trace = so.Stderr
	}
	warn := func(msg string) {
		if so.Stderr != nil {
			fmt.Fprintf(so.Stderr, "sendmail: warning: %s\n", safetext.OneLine(msg))
		}
	}
	// An unknown M365SEND_* variable is a warning here, not an error: a
	// typo in an unrelated variable must not stop cron's mail.
	if err := config.CheckEnviron(so.Environ); err != nil {
		warn(err.Error())
		so.Environ = nil
	}
	g, err := config.LoadGlobals(so.LoadOptions())
	if err != nil {
		return nil, err
	}
	sys, note, err := sysmail.Open(g)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	if note != "" {
		warn(note)
	}
	// One syslog line for the message, whatever becomes of it.
	ev := sysmail.Event{MessageID: msg.MessageID(), From: msg.Sender, To: msg.Recipients}
	out, err := sendmailSession(ctx, so, msg, sys, &ev)
	ev.Err = err
	if out != nil {
		ev.QueueID = string(out.QueueID)
	}
	sys.Record(ev)
	return out, err
}

// sendmailSession maps the message's local recipients through the
// aliases, opens the session and sends msg, or hands it to the queue,
// filling ev in as it learns the envelope.
func sendmailSession(ctx context.Context, so session.Options, msg *sendmail.Message, sys *sysmail.Setup, ev *sysmail.Event) (*Outcome, error) {
	if err := msg.ExpandAliases(sys.Aliases.Expand); err != nil {
		return nil, err
	}
	ev.To = msg.Recipients
	h, err := queueadmin.LoadHandoff(so.LoadOptions(), false)
	if err != nil {
		return nil, err
	}
	so.OneTry = h != nil
	sess, err := session.Open(ctx, so)
	if err != nil {
		return nil, err
	}
	ev.Profile, ev.Mailbox, ev.From = sess.Profile.Name, sess.Mailbox, msg.EnvelopeSender(sess.Mailbox)
	path, err := msg.FinishFile("", sendmail.FinishOptions{
		Mailbox:  sess.Mailbox,
		FromName: sess.Profile.FromName,
	})
	if err != nil {
		return nil, err
	}
	ev.MessageID = msg.MessageID()
	defer func() { _ = os.Remove(path) }()
	out := &Outcome{Mailbox: sess.Mailbox, From: msg.EnvelopeSender(sess.Mailbox), To: msg.Recipients}
	var sendErr error
	if !h.Takes(nil) {
		out.Results, sendErr = sess.Transport.Send(ctx, &sender.Message{
			RawFile: path,
			From:    out.From,
			To:      msg.Recipients,
		})
		if sendErr == nil {
			sess.Health.Sent()
			return out, nil
		}
		if !h.Takes(sendErr) {
			return nil, sendErr
		}
	}
	// Handed to the queue, so that cron and PHP mail is never dropped.
	id, err := h.EnqueueFile(ctx, sess.Profile.Name, out.From, msg.Recipients, path, "sendmail")
	if err != nil {
		if sendErr != nil {
			return nil, sendErr
		}
		return nil, err
	}
	out.QueueID, out.Note = id, queueadmin.QueuedNote(id, h.Dir, sendErr)
	return out, nil
}

// readInputError says what was being read when reading the input
// failed; a refusal of the message itself is left as it is.
func readInputError(err error, what string) error {
	var me *sendmail.MessageError
	if errors.As(err, &me) {
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// eofReader is an empty standard input.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// DryRun makes the message Send would send, without sending it: build
// makes it for the mailbox of the profile opts select (loaded as every
// command loads it, the unknown-variable check included), else for from
// (the --from address). No secret is resolved and no token asked for.
func DryRun(opts session.Options, from string, build Builder) (*sender.Message, error) {
	p, err := session.LoadProfile(opts)
	if err != nil {
		return nil, err
	}
	mailbox := p.Mailbox
	if mailbox == "" {
		mailbox = from
	}
	if mailbox == "" {
		return nil, failure.New(failure.Usage, "no From address: the profile has no mailbox", "give --from, or set mailbox in the profile")
	}
	return build(mailbox, p.FromName)
}
