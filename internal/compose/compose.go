// Package compose reads and checks what `m365send send` makes a message
// of (its flags, the body on standard input, an HTML file, attachments, or
// a complete --raw message) before any network I/O, so that a bad message
// fails fast, and then builds the sender.Message once the profile says
// whom it is from.
package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/rfc5322"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/input"
)

// MaxStdinBody is the largest body read from standard input: 10 MB.
const MaxStdinBody = 10 << 20

// Options are what send's flags say about the message.
type Options struct {
	From          string
	To, Cc, Bcc   []string
	Subject, Body string
	// BodySet is whether --body was given (even empty).
	BodySet  bool
	HTMLFile string
	Attach   []string
	Headers  []string
	ReplyTo  string
	// Raw is the --raw file, "-" for standard input, or "".
	Raw string
	// Literal makes Body the body as it is, even "-" or "", never read
	// from standard input (a message of send --batch).
	Literal bool
	// Prompt is where a person at a terminal is told to type the body
	// when no --body is given (standard error); nil tells nothing.
	Prompt io.Writer
}

// TypeBodyNote is what a person at a terminal is told when send reads the
// body from it, as mail(1) reads one.
const TypeBodyNote = "m365send: type the message, then Ctrl-D on a line of its own to send it (Ctrl-C: send nothing)"

// Draft is a message read and checked, waiting for its From address.
// Close removes its temporary files.
type Draft struct {
	opts     Options
	body     string
	html     string
	fromAddr string
	fromName string
	raw      *sendmail.Message // the --raw message, or nil
	finished []string          // finished --raw files, removed by Close
}

// Read reads what the message is made of: the body from stdin (when
// --body is "-", or absent and stdin is not a terminal) or a --raw
// message, the HTML file; it checks the attachments and --from. Every
// failure is a bad message or address (or a usage error for a folder on
// standard input).
//
// With no --body at a terminal, the body is what the person types until
// end of file (Ctrl-D), as mail(1) reads it, after TypeBodyNote on
// Prompt; ctx ending (Ctrl-C) stops the wait. --body ” is an empty body
// on purpose.
func Read(ctx context.Context, stdin io.Reader, o Options) (*Draft, error) {
	d := &Draft{opts: o, body: o.Body}
	readsStdin := o.Raw == "-" || o.Raw == "" && !o.Literal && (o.Body == "-" || !o.BodySet && stdin != nil)
	if o.Raw == "" && !o.BodySet && !o.Literal && isTTY(stdin) {
		if o.Prompt != nil {
			fmt.Fprintln(o.Prompt, TypeBodyNote)
		}
		b, err := readTyped(ctx, stdin)
		if err != nil {
			return nil, err
		}
		d.body = string(b)
		readsStdin = false
	}
	if readsStdin {
		if err := CheckInput(stdin); err != nil {
			return nil, err
		}
	}
	if o.Raw == "" && readsStdin {
		// go-mail holds a body and its encoding in memory, so a body read
		// from standard input is bounded well below the 150 MB of a
		// message (documented in the help and docs/commands.md).
		b, err := input.Read(stdin, MaxStdinBody)
		if err != nil {
			if errors.Is(err, sender.ErrInvalidMessage) {
				return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("the body on standard input is larger than %d MB, the most send takes as --body", MaxStdinBody>>20),
					hint: "send a large text as a complete message (--raw FILE or --raw -, streamed up to 150 MB) or attach it (--attach FILE)", err: err}
			}
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("read the body from standard input: %v", err), err: err}
		}
		d.body = string(b)
	}
	if o.HTMLFile != "" {
		b, err := os.ReadFile(o.HTMLFile)
		if err != nil {
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("--html: %v", err), err: err}
		}
		d.html = string(b)
	}
	for _, path := range o.Attach {
		if fi, err := os.Stat(path); err != nil {
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("--attach: %v", err), err: err}
		} else if fi.IsDir() {
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("--attach %s: is a directory", path)}
		}
	}
	if err := checkSemicolons(o); err != nil {
		return nil, err
	}
	if o.From != "" {
		addr, err := rfc5322.ParseAddress(o.From)
		if err != nil {
			reason := strings.TrimPrefix(err.Error(), rfc5322.ErrAddress.Error()+": ")
			return nil, &classified{kind: failure.BadAddress, msg: fmt.Sprintf("malformed --from %q: %v", o.From, strings.TrimPrefix(reason, "mail: "))}
		}
		d.fromAddr, d.fromName = addr.Address, addr.Name
	}

	// A --raw message is read now, before any network I/O, so a bad one
	// fails fast with 65: only its header block is held in memory, the
	// body going to a private temporary file (removed by Close).
	if o.Raw != "" {
		raw, err := readRaw(stdin, &o, d.fromAddr)
		if err != nil {
			return nil, err
		}
		d.raw = raw
	}
	return d, nil
}

// FromAddr is the --from address, or "".
func (d *Draft) FromAddr() string { return d.fromAddr }

// Message builds the message from mailbox (with the profile's display
// name), unless --from named another sender, and checks it.
func (d *Draft) Message(mailbox, profileFromName string) (*sender.Message, error) {
	if d.raw != nil {
		m, path, err := rawMessage(d.raw, d.fromAddr, mailbox, profileFromName)
		if path != "" {
			d.finished = append(d.finished, path)
		}
		return m, err
	}
	o := d.opts
	m := &sender.Message{
		From: d.fromAddr, FromName: d.fromName,
		To: splitAddrs(o.To), Cc: splitAddrs(o.Cc), Bcc: splitAddrs(o.Bcc),
		ReplyTo: o.ReplyTo, Subject: o.Subject, Text: d.body, HTML: d.html,
		Attachments: o.Attach, Headers: o.Headers,
	}
	if m.From == "" {
		m.From, m.FromName = mailbox, profileFromName
	}
	if err := m.Validate(); err != nil {
		return nil, asMessageError(err)
	}
	return m, nil
}

// Close removes the draft's temporary files.
func (d *Draft) Close() error {
	var first error
	if d.raw != nil {
		first = d.raw.Remove()
	}
	for _, p := range d.finished {
		if err := os.Remove(p); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// readRaw reads and checks the --raw message, from standard input for
// "-", with sendmail.Spool (at most 150 MB, the body spooled to a
// private temporary file): Bcc is found, and envelope recipients are the
// flags or else the message's To, Cc and Bcc headers.
func readRaw(stdin io.Reader, f *Options, fromAddr string) (*sendmail.Message, error) {
	in := stdin
	if f.Raw != "-" {
		file, err := os.Open(f.Raw)
		if err != nil {
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("read --raw message: %v", err), err: err}
		}
		defer file.Close()
		in = file
	}
	var rcpts []string
	rcpts = append(rcpts, f.To...)
	rcpts = append(rcpts, f.Cc...)
	rcpts = append(rcpts, f.Bcc...)
	m, err := sendmail.Spool(in, &sendmail.Options{ExtractRecipients: len(rcpts) == 0, Recipients: rcpts, Sender: fromAddr,
		// The whole input is the message: no lone-dot rule.
		IgnoreDots: true,
		// In send, -t is --to: sendmail's "use -t" would mislead.
		NoRecipientsHint: "add To/Cc/Bcc headers or pass --to"}, "")
	if err != nil {
		if failure.KindOf(err) != failure.Internal {
			return nil, err // a refusal of the message, or a temporary folder that failed
		}
		return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("read --raw message: %v", err), err: err}
	}
	return m, nil
}

// rawMessage finishes a --raw message: Bcc removed, Date/Message-ID/From
// added where missing, written to a private temporary file (its path
// returned for removal) that is sent streamed; envelope sender --from or
// the mailbox (sendmail.Message.EnvelopeSender).
func rawMessage(parsed *sendmail.Message, fromAddr, mailbox, fromName string) (*sender.Message, string, error) {
	path, err := parsed.FinishFile("", sendmail.FinishOptions{Mailbox: mailbox, FromName: fromName})
	if err != nil {
		if failure.KindOf(err) != failure.Internal {
			return nil, "", err
		}
		return nil, "", &classified{kind: failure.BadMessage, msg: err.Error(), err: err}
	}
	// The envelope sender is --from, else the mailbox, as for sendmail;
	// not the message's own From header.
	m := &sender.Message{From: parsed.EnvelopeSender(mailbox), To: parsed.Recipients, RawFile: path}
	if err := m.Validate(); err != nil {
		return nil, path, asMessageError(err)
	}
	return m, path, nil
}

// asMessageError marks a message validation failure as a data error (65).
func asMessageError(err error) error {
	if failure.KindOf(err) != failure.Internal {
		return err
	}
	return &classified{kind: failure.BadMessage, msg: "bad message: " + err.Error(), err: err}
}

// checkSemicolons refuses an Outlook-style list ("a@x.com; b@y.com") in
// a recipient flag, with how to give several addresses. A semicolon in a
// value that parses (inside a quoted name) is fine.
func checkSemicolons(o Options) error {
	for _, f := range []struct {
		flag string
		vals []string
	}{{"--to", o.To}, {"--cc", o.Cc}, {"--bcc", o.Bcc}} {
		for _, v := range f.vals {
			if !strings.Contains(v, ";") {
				continue
			}
			if _, err := rfc5322.ParseAddressList(v); err == nil {
				continue
			}
			var parts []string
			for _, p := range strings.Split(v, ";") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			list := strings.Join(parts, ", ")
			if o.Literal {
				// A message of send --batch: its fields are JSON.
				name := strings.TrimPrefix(f.flag, "--")
				return &classified{kind: failure.BadAddress,
					msg:  fmt.Sprintf("%q: %q: addresses are separated by commas, not semicolons", name, rfc5322.Truncate(v, 80)),
					hint: fmt.Sprintf(`write "%s": %q, or a list of addresses`, name, rfc5322.Truncate(list, 80))}
			}
			return &classified{kind: failure.BadAddress,
				msg:  fmt.Sprintf("%s %q: addresses are separated by commas, not semicolons", f.flag, rfc5322.Truncate(v, 80)),
				hint: fmt.Sprintf("write %s %q, or repeat %s for each address", f.flag, rfc5322.Truncate(list, 80), f.flag)}
		}
	}
	return nil
}

// splitAddrs splits comma-separated address lists given in one flag value.
func splitAddrs(vals []string) []string {
	var out []string
	for _, v := range vals {
		if strings.Contains(v, ",") {
			if list, err := rfc5322.ParseAddressList(v); err == nil {
				for _, a := range list {
					out = append(out, a.String())
				}
				continue
			}
		}
		out = append(out, v)
	}
	return out
}

// CheckInput refuses a standard input that is a folder (`< /some/dir`):
// reading it can only fail, and the mistake is in the command line.
func CheckInput(r io.Reader) error {
	f, ok := r.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return failure.New(failure.Usage, "standard input is a folder, not a message",
			"redirect a file to standard input, or pipe the message in")
	}
	return nil
}

// isTTY reports whether r is a terminal a person types at.
func isTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readTyped reads a body typed at the terminal until end of file, or
// until ctx ends (Ctrl-C, which the program catches rather than dying on
// it): then nothing is sent.
func readTyped(ctx context.Context, tty io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := input.Read(tty, MaxStdinBody)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, &classified{kind: failure.BadMessage, msg: fmt.Sprintf("read the body from the terminal: %v", r.err), err: r.err}
		}
		return r.b, nil
	case <-ctx.Done():
		// The reader is left blocked on the terminal; the program ends.
		return nil, fmt.Errorf("read the body from the terminal: %w", ctx.Err())
	}
}

// classified is a failure of kind with its own text, hint and cause.
type classified struct {
	kind failure.Kind
	msg  string
	hint string
	err  error
}

func (e *classified) Error() string      { return e.msg }
func (e *classified) Unwrap() error      { return e.err }
func (e *classified) Kind() failure.Kind { return e.kind }
func (e *classified) Hint() string       { return e.hint }
