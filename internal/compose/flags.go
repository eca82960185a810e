package compose

import (
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// SendFlags is the command line of `m365send send`: the message's flags
// and those that say how many messages it sends and how.
type SendFlags struct {
	// Options are the message flags; their Raw is not used (see Raw).
	Options Options
	// Raw are the --raw files, Batch the --batch file ("" when none).
	Raw   []string
	Batch string
	// DryRun, JSON and Queue are --dry-run, --json and --queue.
	DryRun, JSON, Queue bool
}

// Many reports whether the command sends several messages: --batch, or
// --raw more than once.
func (f SendFlags) Many() bool { return f.Batch != "" || len(f.Raw) > 1 }

// Check refuses, as a usage failure, flags that do not go together: the
// message flags with --raw (a complete message) or --batch (whose lines
// hold every field), --dry-run with --json, and --dry-run, --queue or a
// second "--raw -" with several messages.
func (f SendFlags) Check() error {
	o := f.Options
	set := map[string]bool{"--subject": o.Subject != "", "--body": o.BodySet, "--html": o.HTMLFile != "",
		"--attach": len(o.Attach) > 0, "--header": len(o.Headers) > 0, "--reply-to": o.ReplyTo != ""}
	if !f.Many() {
		if len(f.Raw) == 1 {
			if c := conflicts(set); c != "" {
				return failure.New(failure.Usage, "--raw sends a complete message; it does not go with "+c, "put those headers and the body into the raw message")
			}
		}
		if f.DryRun && f.JSON {
			return failure.New(failure.Usage, "--dry-run and --json do not go together", "--dry-run prints the message itself")
		}
		return nil
	}
	switch {
	case f.DryRun:
		return failure.New(failure.Usage, "--dry-run shows one message; it does not go with --batch or several --raw", "try each message with --dry-run alone")
	case f.Queue:
		return failure.New(failure.Usage, "--queue takes one message; it does not go with --batch or several --raw", "send the messages one by one with --queue")
	}
	stdin := 0
	for _, r := range f.Raw {
		if r == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return failure.New(failure.Usage, "--raw - is given more than once", "standard input holds one message; give the others as files")
	}
	what := "--raw sends complete messages"
	if f.Batch != "" {
		what = "--batch takes every field from its lines"
		set["--to"], set["--cc"], set["--bcc"], set["--from"], set["--raw"] = len(o.To) > 0, len(o.Cc) > 0, len(o.Bcc) > 0, o.From != "", len(f.Raw) > 0
	}
	if c := conflicts(set); c != "" {
		return failure.New(failure.Usage, what+"; it does not go with "+c, "put those in the messages")
	}
	return nil
}

// conflicts lists the flags set holds true, in the order of send's help,
// or "".
func conflicts(set map[string]bool) string {
	var names []string
	for _, name := range []string{"--raw", "--from", "--to", "--cc", "--bcc", "--subject", "--body", "--html", "--attach", "--header", "--reply-to"} {
		if set[name] {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}
