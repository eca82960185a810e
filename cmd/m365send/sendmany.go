package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/m365send/m365send/internal/batch"
	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/submit"
	"github.com/m365send/m365send/sender"
)

// sendMany runs `m365send send --batch FILE` and `send --raw A --raw B
// ...`: every message over one connection, one result line each on
// standard output (a JSON object each with --json), and the exit code of
// the worst failure (worstCode).
func (a *app) sendMany(ctx context.Context, f *sendFlags, bodySet bool) error {
	if err := checkManyFlags(f, bodySet); err != nil {
		return err
	}
	var opts []compose.Options
	var labels []string
	var lines []int
	if f.batch != "" {
		entries, err := a.readBatch(f.batch)
		if err != nil {
			return err
		}
		for _, e := range entries {
			opts = append(opts, e.Options)
			labels = append(labels, fmt.Sprintf("line %d", e.Line))
			lines = append(lines, e.Line)
		}
	} else {
		for _, file := range f.raw {
			opts = append(opts, compose.Options{To: f.to, Cc: f.cc, Bcc: f.bcc, From: f.from, Raw: file})
			label := file
			if file == "-" {
				label = "standard input"
			}
			labels = append(labels, label)
			lines = append(lines, 0)
		}
	}

	// Every message is read and checked before the connection is made;
	// one that cannot be fails alone.
	builds := make([]submit.Builder, len(opts))
	for i, o := range opts {
		d, err := compose.Read(ctx, a.io.In, o)
		if err != nil {
			builds[i] = func(string, string) (*sender.Message, error) { return nil, err }
			continue
		}
		defer func() { _ = d.Close() }()
		builds[i] = d.Message
	}

	so := a.sessionOptions()
	if f.verbose {
		so.Trace = a.io.Err
	}
	worst, warned := exitOK, false
	err := submit.SendMany(ctx, so, builds, func(it submit.Item) {
		code := exitOK
		if it.Err != nil {
			code = exitCodeFor(it.Err)
		}
		worst = worstCode(worst, code)
		if werr := a.printItem(f.json, it, labels[it.Index], lines[it.Index], f.raw != nil); werr != nil && !warned {
			warned = true
			a.reporter().warn(a.io.Err, fmt.Sprintf("the results could not be written (%v); the exit status still tells the worst", werr))
		}
	})
	if err != nil {
		return err
	}
	a.exitCode = worst
	return nil
}

// checkManyFlags refuses what does not go with several messages.
func checkManyFlags(f *sendFlags, bodySet bool) error {
	switch {
	case f.dryRun:
		return &usageError{msg: "--dry-run shows one message; it does not go with --batch or several --raw", hint: "try each message with --dry-run alone"}
	case f.queue:
		return &usageError{msg: "--queue takes one message; it does not go with --batch or several --raw", hint: "send the messages one by one with --queue"}
	}
	stdin := 0
	for _, r := range f.raw {
		if r == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return &usageError{msg: "--raw - is given more than once", hint: "standard input holds one message; give the others as files"}
	}
	set := map[string]bool{"--subject": f.subject != "", "--body": bodySet, "--html": f.html != "",
		"--attach": len(f.attach) > 0, "--header": len(f.headers) > 0, "--reply-to": f.replyTo != ""}
	what := "--raw sends complete messages"
	if f.batch != "" {
		what = "--batch takes every field from its lines"
		set["--to"], set["--cc"], set["--bcc"], set["--from"], set["--raw"] = len(f.to) > 0, len(f.cc) > 0, len(f.bcc) > 0, f.from != "", len(f.raw) > 0
	}
	var conflicts []string
	for _, name := range []string{"--raw", "--from", "--to", "--cc", "--bcc", "--subject", "--body", "--html", "--attach", "--header", "--reply-to"} {
		if set[name] {
			conflicts = append(conflicts, name)
		}
	}
	if len(conflicts) > 0 {
		return &usageError{msg: what + "; it does not go with " + strings.Join(conflicts, ", "),
			hint: "put those in the messages"}
	}
	return nil
}

// readBatch reads the --batch file ("-": standard input).
func (a *app) readBatch(path string) ([]batch.Entry, error) {
	in := a.io.In
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, &exitError{kind: failure.BadMessage, msg: fmt.Sprintf("--batch: %v", err), err: err}
		}
		defer file.Close()
		in = file
	}
	if in == nil {
		in = strings.NewReader("")
	}
	return batch.Read(io.LimitReader(in, batch.MaxMessages*int64(batch.MaxLine)))
}

// printItem writes one message's result: a line ("sent LABEL MESSAGE-ID
// to RCPTS", or "failed LABEL (exit N): ERROR; hint: HINT"), or with
// asJSON the --json object with its line or file.
func (a *app) printItem(asJSON bool, it submit.Item, label string, line int, raw bool) error {
	if asJSON {
		res := jsonResult{Status: "sent", MessageID: it.Result.MessageID, Recipients: it.Result.Recipients, Line: line}
		if raw {
			res.File = label
		}
		if it.Err != nil {
			res = a.jsonFailure(it.Err)
			res.Line = line
			if raw {
				res.File = label
			}
		}
		return writeJSON(a.io.Out, res)
	}
	if it.Err == nil {
		_, err := fmt.Fprintf(a.io.Out, "sent %s %s to %s\n", label, it.Result.MessageID, strings.Join(it.Result.Recipients, ", "))
		return err
	}
	text := fmt.Sprintf("failed %s (exit %d): %s", label, exitCodeFor(it.Err), messageFor(it.Err))
	if h := a.reporter().hint(it.Err); h != "" {
		text += "; hint: " + h
	}
	_, err := fmt.Fprintln(a.io.Out, text)
	return err
}
