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
func (a *app) sendMany(ctx context.Context, f *sendFlags) error {
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
