package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/m365send/m365send/internal/batch"
	"github.com/m365send/m365send/internal/compose"
	"github.com/m365send/m365send/internal/submit"
)

// sendMany runs `m365send send --batch FILE` and `send --raw A --raw B
// ...`: every message over one connection, one result line each on
// standard output (a JSON object each with --json), and the exit code of
// the worst failure (worstCode).
func (a *app) sendMany(ctx context.Context, f *sendFlags, bodySet bool) error {
	if err := checkManyFlags(f, bodySet); err != nil {
		return err
	}
	var entries []batch.Entry
	if f.batch != "" {
		var err error
		if entries, err = batch.ReadFile(f.batch, a.io.In); err != nil {
			return err
		}
	}
	msgs, closeAll := batch.Drafts(ctx, a.io.In, entries, f.raw, compose.Options{To: f.to, Cc: f.cc, Bcc: f.bcc, From: f.from})
	defer closeAll()
	builds := make([]submit.Builder, len(msgs))
	for i, m := range msgs {
		builds[i] = m.Build
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
		if werr := a.printItem(f.json, it, msgs[it.Index]); werr != nil && !warned {
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

// printItem writes one message's result: a line ("sent LABEL MESSAGE-ID
// to RCPTS", or "failed LABEL (exit N): ERROR; hint: HINT"), or with
// asJSON the --json object with its line or file.
func (a *app) printItem(asJSON bool, it submit.Item, m batch.Message) error {
	if asJSON {
		res := jsonResult{Status: "sent", MessageID: it.Result.MessageID, Recipients: it.Result.Recipients}
		if it.Err != nil {
			res = a.jsonFailure(it.Err)
		}
		res.Line, res.File = m.Line, m.File
		return writeJSON(a.io.Out, res)
	}
	if it.Err == nil {
		_, err := fmt.Fprintf(a.io.Out, "sent %s %s to %s\n", m.Label, it.Result.MessageID, strings.Join(it.Result.Recipients, ", "))
		return err
	}
	text := fmt.Sprintf("failed %s (exit %d): %s", m.Label, exitCodeFor(it.Err), messageFor(it.Err))
	if h := a.reporter().hint(it.Err); h != "" {
		text += "; hint: " + h
	}
	_, err := fmt.Fprintln(a.io.Out, text)
	return err
}
