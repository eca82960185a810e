package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/helptext"
	"github.com/m365send/m365send/internal/submit"

	"github.com/spf13/cobra"

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
	raw     []string
	batch   string
	dryRun  bool
	json    bool
	verbose bool
	queue   bool
}

func (a *app) newSendCmd() *cobra.Command {
	f := &sendFlags{}
	cmd := &cobra.Command{
		Use:     "send [flags] [recipient ...]",
		Short:   "Compose and send one message",
		Long:    helptext.Send,
		Example: helptext.SendExample,
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
	fl.StringVar(&f.body, "body", "", "the `TEXT` body; \"-\" reads standard input (the default; at a terminal, typed until Ctrl-D)")
	fl.StringVar(&f.html, "html", "", "HTML body from `FILE` (sent as an alternative to the text)")
	fl.StringArrayVarP(&f.attach, "attach", "a", nil, "attach `FILE` (repeatable)")
	fl.StringArrayVar(&f.headers, "header", nil, "add the header `'NAME: value'` (repeatable)")
	fl.StringVar(&f.replyTo, "reply-to", "", "Reply-To `ADDRESS`")
	fl.StringArrayVar(&f.raw, "raw", nil, "send a complete RFC 5322 message from `FILE` (\"-\": standard input; repeatable, all over one connection)")
	fl.StringVar(&f.batch, "batch", "", "send every message of the JSON Lines `FILE` (\"-\": standard input) over one connection, one result line each")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the message that would be sent; send nothing")
	fl.BoolVar(&f.json, "json", false, "print one JSON result object on standard output")
	fl.BoolVar(&f.queue, "queue", false, "hand the message to the queue when sending fails for now (see `m365send queue`)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "trace the SMTP exchange on standard error (tokens redacted)")
	return cmd
}

// send runs `m365send send`.
func (a *app) send(ctx context.Context, f *sendFlags, bodySet bool) error {
	sf := compose.SendFlags{Options: compose.Options{
		From: f.from, To: f.to, Cc: f.cc, Bcc: f.bcc, Subject: f.subject,
		Body: f.body, BodySet: bodySet, HTMLFile: f.html, Attach: f.attach,
		Headers: f.headers, ReplyTo: f.replyTo, Prompt: a.io.Err,
	}, Raw: f.raw, Batch: f.batch, DryRun: f.dryRun, JSON: f.json, Queue: f.queue}
	if err := sf.Check(); err != nil {
		return err
	}
	if sf.Many() {
		return a.sendMany(ctx, f)
	}
	// Read what the message is made of before any network I/O, so a bad
	// message fails fast with 65.
	o := sf.Options
	if len(f.raw) == 1 {
		o.Raw = f.raw[0]
	}
	draft, err := compose.Read(ctx, a.io.In, o)
	if err != nil {
		return err
	}
	defer func() { _ = draft.Close() }()
	build := draft.Message
	if f.dryRun {
		m, err := submit.DryRun(a.sessionOptions(), draft.FromAddr(), build)
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
	out, err := submit.Send(ctx, opts, f.queue, build)
	if err != nil {
		return err
	}
	results := out.Results
	if out.QueueID != "" {
		a.reporter().warn(a.io.Err, out.Note)
		if f.json {
			if err := writeJSON(a.io.Out, jsonResult{Status: "queued", QueueID: string(out.QueueID), From: out.From, Recipients: out.To}); err != nil {
				a.reporter().warn(a.io.Err, fmt.Sprintf("the message was queued, but its --json result could not be written: %v", err))
			}
		}
		return nil
	}
	if f.json {
		res := jsonResult{Status: "sent", From: out.From}
		if len(results) == 1 {
			res.MessageID, res.Recipients = results[0].MessageID, results[0].Recipients
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
	// Line and File say which message of send --batch (its line) or of
	// several --raw (its file) the object is about.
	Line int    `json:"line,omitempty"`
	File string `json:"file,omitempty"`
}

// jsonFailure is the --json object for a failure.
func (a *app) jsonFailure(err error) jsonResult {
	res := jsonResult{Status: "failed", Error: messageFor(err), Hint: a.reporter().hint(err), ExitCode: exitCodeFor(err)}
	var se *sender.Error
	if errors.As(err, &se) {
		res.Code, res.EnhancedCode = se.Code, se.EnhancedCode
	}
	return res
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
	res := a.jsonFailure(err)
	if werr := writeJSON(a.io.Out, res); werr != nil {
		a.reporter().print(a.io.Err, err)
	}
	return code
}
