// Package clilog is the logger the commands hand to the libraries: warnings
// and errors print as "PROG: warning: ..." lines, in the shape of the
// command's own messages, and Info and Debug only with -v.
package clilog

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/m365send/m365send/internal/safetext"
)

// New is the logger for the libraries' diagnostics, on w (standard
// error): warnings (such as a corrupt token cache set aside) always, as
// "m365send: warning: ..." lines; Info and Debug (where the credential and
// each token came from) only with -v.
func New(w io.Writer, prog string, verbose bool) *slog.Logger {
	if verbose {
		return NewLevel(w, prog, slog.LevelDebug)
	}
	return NewLevel(w, prog, slog.LevelWarn)
}

// NewLevel logs level and above on w: warnings and errors as
// "PROG: warning: ..." and "PROG: error: ..." lines, in the shape of the
// command's own messages; Info and Debug (-v) as timestamped key=value
// lines.
func NewLevel(w io.Writer, prog string, level slog.Level) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	h := &lineHandler{w: w, prog: prog, min: level, mu: new(sync.Mutex)}
	if level < slog.LevelWarn {
		h.detail = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	}
	return slog.New(h)
}

// lineHandler prints Warn and Error records as one line each,
// "PROG: warning: MESSAGE (key=value ...)", with text from elsewhere made
// safe for a terminal, and hands lower levels to detail (nil: dropped).
type lineHandler struct {
	w      io.Writer
	prog   string
	min    slog.Level
	mu     *sync.Mutex // shared by the handler's copies: one line at a time
	attrs  []slog.Attr // from WithAttrs, keys already qualified by groups
	groups []string
	detail slog.Handler
}

// Enabled reports whether records of level l are printed.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

// Handle prints r.
func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		if h.detail == nil {
			return nil
		}
		return h.detail.Handle(ctx, r)
	}
	word := "warning"
	if r.Level >= slog.LevelError {
		word = "error"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", h.prog, word, safetext.OneLine(r.Message))
	var kv []string
	var add func(prefix string, a slog.Attr)
	add = func(prefix string, a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		if a.Value.Kind() == slog.KindGroup {
			p := prefix
			if a.Key != "" {
				p += a.Key + "."
			}
			for _, g := range a.Value.Group() {
				add(p, g)
			}
			return
		}
		kv = append(kv, prefix+a.Key+"="+quoteValue(a.Value.String()))
	}
	for _, a := range h.attrs {
		add("", a)
	}
	prefix := ""
	for _, g := range h.groups {
		prefix += g + "."
	}
	r.Attrs(func(a slog.Attr) bool {
		add(prefix, a)
		return true
	})
	if len(kv) > 0 {
		b.WriteString(" (" + strings.Join(kv, " ") + ")")
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// quoteValue makes v one safe token: quoted when it holds a space, a
// quote or an equals sign, or is empty.
func quoteValue(v string) string {
	v = safetext.OneLine(v)
	if v == "" || strings.ContainsAny(v, ` "=`) {
		return strconv.Quote(v)
	}
	return v
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	prefix := strings.Join(h.groups, ".")
	for _, a := range attrs {
		if prefix != "" {
			a = slog.Group(prefix, a)
		}
		c.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], a)
	}
	if h.detail != nil {
		c.detail = h.detail.WithAttrs(attrs)
	}
	return &c
}

// WithGroup returns a handler that qualifies later attributes by name.
func (h *lineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(c.groups[:len(c.groups):len(c.groups)], name)
	if h.detail != nil {
		c.detail = h.detail.WithGroup(name)
	}
	return &c
}
