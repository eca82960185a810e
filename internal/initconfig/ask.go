package initconfig

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// asker asks questions on w and reads one line per answer from r. A read
// waits for ctx too, so that an interrupt (Ctrl-C) ends init even while a
// line is awaited. Nothing is read between questions, so that a secret
// read from the terminal (Options.ReadSecret) is not taken as an answer.
type asker struct {
	ctx   context.Context
	w     io.Writer
	r     *bufio.Reader
	req   chan struct{}
	lines chan lineRead
	done  error // the error that ended the input, once met
}

type lineRead struct {
	s   string
	err error
}

func newAsker(ctx context.Context, r io.Reader, w io.Writer) *asker {
	if w == nil {
		w = io.Discard
	}
	a := &asker{ctx: ctx, w: w}
	if r != nil {
		a.r = bufio.NewReader(r)
	}
	return a
}

// read returns the next line, trimmed.
func (a *asker) read() (string, error) {
	if a.r == nil {
		return "", failure.New(failure.Usage, "init has no input to read answers from", "give the profile as flags")
	}
	if a.done != nil {
		return "", a.done
	}
	if a.req == nil {
		a.req, a.lines = make(chan struct{}), make(chan lineRead)
		go func() {
			for range a.req {
				s, err := a.r.ReadString('\n')
				select {
				case a.lines <- lineRead{s, err}:
				case <-a.ctx.Done():
					return
				}
			}
		}()
	}
	select {
	case a.req <- struct{}{}:
	case <-a.ctx.Done():
		return "", a.ctx.Err()
	}
	select {
	case l := <-a.lines:
		if l.err != nil {
			a.done = fmt.Errorf("read an answer: %w", l.err)
			if l.err == io.EOF {
				a.done = failure.New(failure.Usage, "init stopped: the input ended before every question was answered", "nothing was written")
			}
			if l.s == "" {
				return "", a.done
			}
		}
		return strings.TrimSpace(l.s), nil
	case <-a.ctx.Done():
		return "", a.ctx.Err()
	}
}

// line asks prompt and returns the answer, def when it is empty.
func (a *asker) line(prompt, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(a.w, "%s [%s]: ", prompt, def)
	} else {
		fmt.Fprintf(a.w, "%s: ", prompt)
	}
	s, err := a.read()
	if err != nil {
		return "", err
	}
	if s == "" {
		return def, nil
	}
	return s, nil
}

// choose lists choices, numbered from 1, and returns the number chosen
// (1 when the answer is empty).
func (a *asker) choose(question string, choices []string) (int, error) {
	fmt.Fprintln(a.w, question)
	for i, c := range choices {
		fmt.Fprintf(a.w, "  %d) %s\n", i+1, c)
	}
	for {
		s, err := a.line(fmt.Sprintf("Choose 1-%d", len(choices)), "1")
		if err != nil {
			return 0, err
		}
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(choices) {
			return n, nil
		}
		fmt.Fprintf(a.w, "Answer with a number from 1 to %d.\n", len(choices))
	}
}

// yesNo asks a yes-or-no question; an empty answer is def.
func (a *asker) yesNo(question string, def bool) (bool, error) {
	hint := "y/N"
	if def {
		hint = "Y/n"
	}
	for {
		fmt.Fprintf(a.w, "%s [%s] ", question, hint)
		s, err := a.read()
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
	}
}
