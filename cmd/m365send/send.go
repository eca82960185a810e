package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/m365send/m365send/internal/queueadmin"
	"github.com/m365send/m365send/internal/rfc5322"
	"github.com/m365send/m365send/internal/session"

	"github.com/spf13/cobra"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/sender"
)

// sendFlags are the flags of `m365send send`.
type sendFlags struct {
	from    string
	to      []string
	cc      []string
	bcc     []string
	subject string
	body    string
	html    string
	attach  []string
	headers []string
	replyTo string
	raw     string
	dryRun  bool
	json    bool
	verbose bool
	queue   bool
}

const sendLong = `Send composes one message and submits it through the profile's mailbox.

The body is the --body text, or standard input when --body is "-" or is
absent and standard input is not a terminal (so "cmd | m365send send ..."
works); a body read from standard input is held in memory and refused past
10 MB (send a larger text with --raw or --attach). --html adds an HTML alternative read from a file; --attach adds
files, streamed, with the MIME type taken from their content.

--raw sends a complete RFC 5322 message (a file, or "-" for standard input;
at most 150 MB, streamed through private temporary files, so memory stays
flat) as it is, after removing Bcc headers and adding Date, Message-ID and From if
missing. Its envelope recipients are the --to/--cc/--bcc flags and bare
arguments or, when there are none, the message's To, Cc and Bcc headers;
its envelope sender is --from or the profile's mailbox, as with sendmail's
-f, never the message's own From header.

--dry-run prints the message exactly as it would be sent and sends nothing;
it needs no token. --json prints one JSON object on standard output:
  {"status":"sent","message_id":"<...>","from":"...","recipients":["..."]}
  {"status":"failed","error":"...","code":550,"enhanced_code":"5.1.10",
   "hint":"...","exit_code":65}
When the message was sent but its result cannot be written (standard
output closed or full), send says so on standard error ("m365send:
warning: the message was sent ...") and still exits 0: the exit status
says whether the message went, so that a caller never sends it twice.
When the configuration file names a queue (top-level queue = "FOLDER"),
or with --queue, a message that fails for now (exit status 75 otherwise) is
handed to the queue instead: send prints "m365send: warning: queued ID ..."
and exits 0 (--json: "status":"queued" with "queue_id"); "m365send queue
flush" or a relay delivers it later. With queue_always = true every message
goes to the queue without a try. sendmail does the same.
-v traces the SMTP exchange on standard error, with the token redacted.

Nothing is printed on success without --json or -v; the exit status says
what happened (see "m365send --help").`

func (a *app) newSendCmd() *cobra.Command {
	f := &sendFlags{}
	cmd := &cobra.Command{
		Use:   "send [flags] [recipient ...]",
		Short: "Compose and send one message",
		Long:  sendLong,
		Example: `  echo "backup done" | m365send send --to ops@contoso.com --subject "backup"
  m365send send -s "report" --html report.html --attach report.pdf alice@contoso.com
  m365send send --raw message.eml
  m365send send --dry-run --to bob@contoso.com -s test --body hello`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.to = append(f.to, args...)
			bodySet := cmd.Flags().Changed("body")
			err := a.send(cmd.Context(), f, bodySet)
			if err != nil && f.json {
				a.exitCode = a.printJSONFailure(err)
				return nil
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.from, "from", "", "From `ADDRESS` (default: the profile's mailbox); another address needs SendAs")
	fl.StringArrayVarP(&f.to, "to", "t", nil, "recipient `ADDRESS` (repeatable; bare arguments are --to too)")
	fl.StringArrayVarP(&f.cc, "cc", "c", nil, "Cc recipient `ADDRESS` (repeatable)")
	fl.StringArrayVarP(&f.bcc, "bcc", "b", nil, "Bcc recipient `ADDRESS`, never shown in the headers (repeatable)")
	fl.StringVarP(&f.subject, "subject", "s", "", "the `SUBJECT`")
	fl.StringVar(&f.body, "body", "", "the `TEXT` body; \"-\" reads standard input (the default when it is not a terminal)")
	fl.StringVar(&f.html, "html", "", "HTML body from `FILE` (sent as an alternative to the text)")
	fl.StringArrayVarP(&f.attach, "attach", "a", nil, "attach `FILE` (repeatable)")
	fl.StringArrayVar(&f.headers, "header", nil, "add the header `'NAME: value'` (repeatable)")
	fl.StringVar(&f.replyTo, "reply-to", "", "Reply-To `ADDRESS`")
	fl.StringVar(&f.raw, "raw", "", "send a complete RFC 5322 message from `FILE` (\"-\": standard input)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the message that would be sent; send nothing")
	fl.BoolVar(&f.json, "json", false, "print one JSON result object on standard output")
	fl.BoolVar(&f.queue, "queue", false, "hand the message to the queue when sending fails for now (see `m365send queue`)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "trace the SMTP exchange on standard error (tokens redacted)")
	return cmd
}

// send runs `m365send send`.
func (a *app) send(ctx context.Context, f *sendFlags, bodySet bool) error {
	if f.raw != "" {
		var conflicts []string
		for name, set := range map[string]bool{"--subject": f.subject != "", "--body": bodySet, "--html": f.html != "",
			"--attach": len(f.attach) > 0, "--header": len(f.headers) > 0, "--reply-to": f.replyTo != ""} {
			if set {
				conflicts = append(conflicts, name)
			}
		}
		if len(conflicts) > 0 {
			return &usageError{msg: "--raw sends a complete message; it does not go with " + strings.Join(conflicts, ", "),
				hint: "put those headers and the body into the raw message"}
		}
	}
	if f.dryRun && f.json {
		return &usageError{msg: "--dry-run and --json do not go together", hint: "--dry-run prints the message itself"}
	}

	// Read what the message is made of before any network I/O, so a bad
	// message fails fast with 65.
	body := f.body
	readsStdin := f.raw == "-" || f.raw == "" && (body == "-" || !bodySet && !isTerminal(a.io.In))
	if readsStdin {
		if err := checkInput(a.io.In); err != nil {
			return err
		}
	}
	if f.raw == "" && readsStdin {
		// go-mail holds a body and its encoding in memory, so a body read
		// from standard input is bounded well below the 150 MB of a
		// message (documented in the help and docs/commands.md).
		b, err := sender.ReadInput(a.io.In, maxStdinBody)
		if err != nil {
			if errors.Is(err, sender.ErrInvalidMessage) {
				return &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("the body on standard input is larger than %d MB, the most send takes as --body", maxStdinBody>>20),
					hint: "send a large text as a complete message (--raw FILE or --raw -, streamed up to 150 MB) or attach it (--attach FILE)", err: err}
			}
			return &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("read the body from standard input: %v", err), err: err}
		}
		body = string(b)
	}
	var html string
	if f.html != "" {
		b, err := os.ReadFile(f.html)
		if err != nil {
			return &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("--html: %v", err), err: err}
		}
		html = string(b)
	}
	for _, path := range f.attach {
		if fi, err := os.Stat(path); err != nil {
			return &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("--attach: %v", err), err: err}
		} else if fi.IsDir() {
			return &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("--attach %s: is a directory", path)}
		}
	}
	var fromAddr, fromName string
	if f.from != "" {
		addr, err := rfc5322.ParseAddress(f.from)
		if err != nil {
			reason := strings.TrimPrefix(err.Error(), rfc5322.ErrAddress.Error()+": ")
			return &exitError{kind: failure.BadAddress, msg: fmt.Sprintf("malformed --from %q: %v", f.from, strings.TrimPrefix(reason, "mail: "))}
		}
		fromAddr, fromName = addr.Address, addr.Name
	}

	// A --raw message is read now, before any network I/O, so a bad one
	// fails fast with 65: only its header block is held in memory, the
	// body going to a private temporary file (removed on return).
	var raw *sendmail.Message
	if f.raw != "" {
		var err error
		raw, err = readRaw(a.io.In, f, fromAddr)
		if err != nil {
			return err
		}
		defer func() { _ = raw.Remove() }()
	}
	var finished []string
	defer func() {
		for _, p := range finished {
			_ = os.Remove(p)
		}
	}()

	build := func(mailbox, profileFromName string) (*sender.Message, error) {
		if raw != nil {
			m, path, err := rawMessage(raw, fromAddr, mailbox, profileFromName)
			if path != "" {
				finished = append(finished, path)
			}
			return m, err
		}
		m := &sender.Message{
			From: fromAddr, FromName: fromName,
			To: splitAddrs(f.to), Cc: splitAddrs(f.cc), Bcc: splitAddrs(f.bcc),
			ReplyTo: f.replyTo, Subject: f.subject, Text: body, HTML: html,
			Attachments: f.attach, Headers: f.headers,
		}
		if m.From == "" {
			m.From, m.FromName = mailbox, profileFromName
		}
		if err := m.Validate(); err != nil {
			return nil, asMessageError(err)
		}
		return m, nil
	}

	if f.dryRun {
		// The same loader as every command (the unknown-variable check
		// included); no secret is resolved and no token is asked for.
		p, err := session.LoadProfile(a.sessionOptions())
		if err != nil {
			return err
		}
		mailbox, name := p.Mailbox, p.FromName
		if mailbox == "" {
			mailbox = fromAddr
		}
		if mailbox == "" {
			return &usageError{msg: "no From address: the profile has no mailbox", hint: "give --from, or set mailbox in the profile"}
		}
		m, err := build(mailbox, name)
		if err != nil {
			return err
		}
		if _, err := m.WriteTo(a.io.Out); err != nil {
			return fmt.Errorf("write the message: %w", err)
		}
		return nil
	}

	opts := a.sessionOptions()
	if f.verbose {
		opts.Trace = a.io.Err
	}
	h, err := queueadmin.LoadHandoff(a.sessionOptions().LoadOptions(), f.queue)
	if err != nil {
		return err
	}
	opts.OneTry = h != nil
	s, err := session.Open(ctx, opts)
	if err != nil {
		return err
	}
	m, err := build(s.Mailbox, s.Profile.FromName)
	if err != nil {
		return err
	}
	var sendErr error
	var results []sender.Result
	if !h.Takes(nil) {
		results, sendErr = s.Sender.Send(ctx, m)
		if sendErr == nil && len(results) == 1 && results[0].Err != nil {
			sendErr = results[0].Err
		}
	}
	if h.Takes(sendErr) {
		return a.queueSent(ctx, h, s, m, f, sendErr)
	}
	if sendErr != nil {
		return sendErr
	}
	if f.json {
		res := jsonResult{Status: "sent", From: m.From}
		if len(results) == 1 {
			res.MessageID, res.Recipients = results[0].MessageID, results[0].Recipients
		}
		if res.From == "" {
			res.From = s.Mailbox
		}
		if err := writeJSON(a.io.Out, res); err != nil {
			// The message is gone: a failure status would make a caller
			// send it again. Say so, and succeed.
			a.reporter().warn(a.io.Err, fmt.Sprintf("the message was sent (Message-ID %s), but its --json result could not be written: %v",
				res.MessageID, err))
		}
		return nil
	}
	if f.verbose && len(results) == 1 {
		fmt.Fprintf(a.io.Err, "m365send: sent %s to %s\n", results[0].MessageID, strings.Join(results[0].Recipients, ", "))
	}
	return nil
}

// queueSent hands m to the queue after sending it met sendErr (nil:
// queue_always), says so, and succeeds.
func (a *app) queueSent(ctx context.Context, h *queueadmin.Handoff, s *session.Session, m *sender.Message, f *sendFlags, sendErr error) error {
	from := m.From
	if from == "" {
		from = s.Mailbox
	}
	id, err := h.Enqueue(ctx, s.Profile.Name, from, queueadmin.EnvelopeAddrs(m.To, m.Cc, m.Bcc), m, "m365send send")
	if err != nil {
		if sendErr != nil {
			return sendErr
		}
		return err
	}
	a.reporter().warn(a.io.Err, queueadmin.QueuedNote(id, h.Dir, sendErr))
	if f.json {
		if err := writeJSON(a.io.Out, jsonResult{Status: "queued", QueueID: string(id), From: from, Recipients: queueadmin.EnvelopeAddrs(m.To, m.Cc, m.Bcc)}); err != nil {
			a.reporter().warn(a.io.Err, fmt.Sprintf("the message was queued, but its --json result could not be written: %v", err))
		}
	}
	return nil
}

// maxStdinBody is the largest --body read from standard input: 10 MB.
const maxStdinBody = 10 << 20

// readRaw reads and checks the --raw message, from standard input for
// "-", with sendmail.Spool (at most 150 MB, the body spooled to a
// private temporary file): Bcc is found, and envelope recipients are the
// flags or else the message's To, Cc and Bcc headers.
func readRaw(stdin io.Reader, f *sendFlags, fromAddr string) (*sendmail.Message, error) {
	in := stdin
	if f.raw != "-" {
		file, err := os.Open(f.raw)
		if err != nil {
			return nil, &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("read --raw message: %v", err), err: err}
		}
		defer file.Close()
		in = file
	}
	var rcpts []string
	rcpts = append(rcpts, f.to...)
	rcpts = append(rcpts, f.cc...)
	rcpts = append(rcpts, f.bcc...)
	m, err := sendmail.Spool(in, &sendmail.Options{ExtractRecipients: len(rcpts) == 0, Recipients: rcpts, Sender: fromAddr,
		// The whole input is the message: no lone-dot rule.
		IgnoreDots: true,
		// In send, -t is --to: sendmail's "use -t" would mislead.
		NoRecipientsHint: "add To/Cc/Bcc headers or pass --to"}, "")
	if err != nil {
		if failure.KindOf(err) != failure.Internal {
			return nil, err // a refusal of the message, or a temporary folder that failed
		}
		return nil, &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("read --raw message: %v", err), err: err}
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
		return nil, "", &exitError{kind: failure.BadMessage, msg: err.Error(), err: err}
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
	return &exitError{kind: failure.BadMessage, msg: "bad message: " + err.Error(), err: err}
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

// checkInput refuses a standard input that is a folder (`< /some/dir`):
// reading it can only fail, and the mistake is in the command line.
func checkInput(r io.Reader) error {
	f, ok := r.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return &usageError{msg: "standard input is a folder, not a message",
			hint: "redirect a file to standard input, or pipe the message in"}
	}
	return nil
}

// isTerminal reports whether r is a terminal (a character device), where
// reading a body nobody typed would hang.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return r == nil
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// jsonResult is what --json prints.
type jsonResult struct {
	Status       string   `json:"status"`
	MessageID    string   `json:"message_id,omitempty"`
	QueueID      string   `json:"queue_id,omitempty"`
	From         string   `json:"from,omitempty"`
	Recipients   []string `json:"recipients,omitempty"`
	Error        string   `json:"error,omitempty"`
	Code         int      `json:"code,omitempty"`
	EnhancedCode string   `json:"enhanced_code,omitempty"`
	Hint         string   `json:"hint,omitempty"`
	ExitCode     int      `json:"exit_code,omitempty"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// printJSONFailure prints the --json failure object and returns the exit
// code.
func (a *app) printJSONFailure(err error) int {
	code := exitCodeFor(err)
	res := jsonResult{Status: "failed", Error: messageFor(err), Hint: a.reporter().hint(err), ExitCode: code}
	var se *sender.Error
	if errors.As(err, &se) {
		res.Code, res.EnhancedCode = se.Code, se.EnhancedCode
	}
	if werr := writeJSON(a.io.Out, res); werr != nil {
		a.reporter().print(a.io.Err, err)
	}
	return code
}
