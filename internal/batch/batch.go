// Package batch reads the messages of `m365send send --batch FILE`: JSON
// Lines, one message a line, such as
//
//	{"to": "ops@contoso.com", "subject": "disk", "body": "93% full\n"}
//	{"to": ["a@contoso.com", "b@contoso.com"], "cc": "c@contoso.com", "subject": "report", "body": "see attached", "attachments": ["report.pdf"]}
//
// Each line becomes the compose.Options that send's flags would give (see
// docs/commands.md for the fields). Blank lines are skipped. A line that
// is not such an object is refused with its line number, before anything
// is sent, so that a batch is never sent in part for a typo.
package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/suggest"
	"github.com/m365send/m365send/sender"
)

// MaxLine is the longest line: a body read this way is held in memory
// as --body is, and bounded as a body on standard input is.
const MaxLine = compose.MaxStdinBody + 1<<20

// MaxMessages is the most messages one batch holds: they are all
// prepared before the first is sent.
const MaxMessages = 10000

// Entry is one line's message.
type Entry struct {
	// Line is the line number in the file, from 1.
	Line int
	// Options are the message's fields, as send's flags would give them.
	Options compose.Options
}

// message is a line as JSON.
type message struct {
	From        string    `json:"from"`
	To          addresses `json:"to"`
	Cc          addresses `json:"cc"`
	Bcc         addresses `json:"bcc"`
	Subject     string    `json:"subject"`
	Body        *string   `json:"body"`
	HTML        string    `json:"html"`
	Attachments []string  `json:"attachments"`
	Headers     []string  `json:"headers"`
	ReplyTo     string    `json:"reply_to"`
}

// fields are the names a line may use, for suggestions.
var fields = []string{"from", "to", "cc", "bcc", "subject", "body", "html", "attachments", "headers", "reply_to"}

// addresses is a recipient field: one string (which may hold a
// comma-separated list) or an array of them.
type addresses []string

// UnmarshalJSON takes a string or an array of strings.
func (a *addresses) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = addresses{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want an address, or an array of addresses")
	}
	*a = many
	return nil
}

// ReadFile reads the batch file path, or stdin for "-" (nil: empty).
func ReadFile(path string, stdin io.Reader) ([]Entry, error) {
	in := stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, failure.Wrap(failure.BadMessage, fmt.Errorf("--batch: %w", err), "")
		}
		defer file.Close()
		in = file
	}
	if in == nil {
		in = strings.NewReader("")
	}
	return Read(io.LimitReader(in, MaxMessages*int64(MaxLine)))
}

// Read reads every line of r. Errors are bad-message failures naming the
// line (exit 65), or the read's own error.
func Read(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(out) == MaxMessages {
			return nil, failure.New(failure.BadMessage, fmt.Sprintf("line %d: more than %d messages in one batch", n, MaxMessages), "split the file")
		}
		e, err := parse(line)
		if err != nil {
			return nil, failure.Wrap(failure.BadMessage, fmt.Errorf("line %d: %w", n, err), hint(err))
		}
		e.Line = n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, failure.New(failure.BadMessage, fmt.Sprintf("line %d is longer than %d MB", len(out)+1, MaxLine>>20),
				"send a large text as an attachment")
		}
		return nil, fmt.Errorf("read the batch: %w", err)
	}
	if len(out) == 0 {
		return nil, failure.New(failure.BadMessage, "the batch holds no message", "write one JSON object a line")
	}
	return out, nil
}

// parse reads one line.
func parse(line []byte) (Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var m message
	if err := dec.Decode(&m); err != nil {
		return Entry{}, jsonError(err)
	}
	if dec.More() {
		return Entry{}, errors.New("more than one JSON value on the line")
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return Entry{}, errors.New("no recipient: the message needs to, cc or bcc")
	}
	o := compose.Options{
		From: m.From, To: m.To, Cc: m.Cc, Bcc: m.Bcc, Subject: m.Subject,
		HTMLFile: m.HTML, Attach: m.Attachments, Headers: m.Headers, ReplyTo: m.ReplyTo,
		// The body is the line's: never standard input, never asked for.
		BodySet: true, Literal: true,
	}
	if m.Body != nil {
		o.Body = *m.Body
	}
	return Entry{Options: o}, nil
}

// jsonError says what is wrong with a line in a person's words.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not JSON: the object does not end on its line")
	case errors.As(err, &se):
		return fmt.Errorf("not JSON (%v at byte %d)", se, se.Offset)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("field %q: want %s, not a JSON %s", te.Field, te.Type, te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("want a JSON object, not a %s", te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s", f)
	}
	return errors.New(strings.TrimPrefix(msg, "json: "))
}

// hint says what to do about a line's error.
func hint(err error) string {
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if h := suggest.DidYouMean(strings.Trim(f, `"`), fields, 3); h != "" {
			return h
		}
	}
	return "one JSON object a line, with the fields " + strings.Join(fields, ", ") + " (see `m365send help send`)"
}

// Message is one message of a command that sends many: how to build it,
// and how its result line names it.
type Message struct {
	// Label names it in the result line: "line N" or the --raw file
	// ("standard input" for "-").
	Label string
	// Line is its line in the batch file, or 0; File its --raw file, or "".
	Line int
	File string
	// Build makes it for the profile's mailbox; it fails with the reason
	// the message could not be read, if it could not.
	Build func(mailbox, fromName string) (*sender.Message, error)
}

// Drafts reads and checks every message (compose.Read) before anything
// is sent: the entries of a batch file, or else one complete message per
// raw file (with the envelope flags in common). A message that cannot be
// read fails alone, through its Build. close removes their temporary
// files.
func Drafts(ctx context.Context, stdin io.Reader, entries []Entry, raw []string, common compose.Options) (msgs []Message, close func()) {
	var drafts []*compose.Draft
	add := func(m Message, o compose.Options) {
		d, err := compose.Read(ctx, stdin, o)
		if err != nil {
			m.Build = func(string, string) (*sender.Message, error) { return nil, err }
		} else {
			drafts = append(drafts, d)
			m.Build = d.Message
		}
		msgs = append(msgs, m)
	}
	for _, e := range entries {
		add(Message{Label: fmt.Sprintf("line %d", e.Line), Line: e.Line}, e.Options)
	}
	for _, file := range raw {
		o := common
		o.Raw = file
		label := file
		if file == "-" {
			label = "standard input"
		}
		add(Message{Label: label, File: file}, o)
	}
	return msgs, func() {
		for _, d := range drafts {
			_ = d.Close()
		}
	}
}
