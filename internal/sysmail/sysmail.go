// Package sysmail is what the sendmail interface needs to stand in for a
// system MTA (docs/sendmail.md): the aliases that map root and other local
// names to real addresses, one syslog line per message, and pacing that
// holds across processes (pacing.go).
package sysmail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/aliases"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safefile"
	"github.com/m365send/m365send/internal/safetext"
)

// maxAliasesFile bounds an aliases file.
const maxAliasesFile = 1 << 20

// Aliases returns the aliases of the configuration g: the aliases_file's
// (when named), with the [aliases] table's names winning. A file that
// cannot be read or parsed is a configuration error.
func Aliases(g *config.Globals) (aliases.Table, error) {
	tab := aliases.Table{}
	if g.AliasesFile != "" {
		data, err := safefile.Read(g.AliasesFile, "aliases file", maxAliasesFile, false)
		if err != nil {
			return nil, &config.Error{File: g.File, Key: "aliases_file", Msg: fmt.Sprintf("cannot read the aliases file %s: %v", g.AliasesFile, plain(err)),
				Advice: "point aliases_file at a readable file in /etc/aliases syntax, or remove it", Err: err}
		}
		if tab, err = aliases.Parse(g.AliasesFile, data); err != nil {
			return nil, &config.Error{File: g.File, Key: "aliases_file", Msg: err.Error(),
				Advice: `aliases lines are "name: address, address"`, Err: err}
		}
	}
	return aliases.Merge(tab, aliases.Table(g.Aliases)), nil
}

// plain is err without a *fs.PathError's repeat of the path.
func plain(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var se *safefile.Error
	if errors.As(err, &se) {
		return errors.New(se.Msg)
	}
	return err
}

// Event is one message's outcome, for its syslog line.
type Event struct {
	// Profile and Mailbox say which profile sent (or would have).
	Profile, Mailbox string
	// From is the envelope sender, To the envelope recipients.
	From string
	To   []string
	// MessageID is the message's Message-ID.
	MessageID string
	// QueueID is set when the message was handed to the queue.
	QueueID string
	// Err is why it was not sent (nil: sent or queued).
	Err error
}

// Line is the event's syslog line: the calling user, profile, envelope,
// Message-ID and result, as key=value pairs on one line. It never holds a
// token: the error is the one-line message sendmail printed.
func (e Event) Line(who string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "user=%s profile=%s mailbox=%s from=<%s> to=", field(who), field(e.Profile), field(e.Mailbox), field(e.From))
	for i, t := range e.To {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "<%s>", field(t))
	}
	fmt.Fprintf(&b, " msgid=%s", field(e.MessageID))
	switch {
	case e.Err == nil && e.QueueID != "":
		fmt.Fprintf(&b, " result=queued queue_id=%s", field(e.QueueID))
	case e.Err == nil:
		b.WriteString(" result=sent")
	default:
		fmt.Fprintf(&b, " result=failed kind=%s error=%s", failure.KindOf(e.Err), strconv.Quote(safetext.OneLine(e.Err.Error())))
	}
	if e.Err != nil && e.QueueID != "" {
		fmt.Fprintf(&b, " queue_id=%s", field(e.QueueID))
	}
	return b.String()
}

// field is s made safe for one key=value field: no spaces or control
// characters, at most 200 bytes; "-" when empty.
func field(s string) string {
	s = safetext.OneLine(s)
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		return "-"
	}
	return s
}

// CurrentUser names the user sendmail runs as: the login name, else the
// numeric ID.
func CurrentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

// Setup is the sendmail interface's system side for one message: its
// aliases and, when the configuration asks for it, its syslog.
type Setup struct {
	// Aliases map local names to addresses.
	Aliases aliases.Table
	log     *Syslog
}

// Open loads the aliases of g and connects to syslog when g asks for it.
// A syslog that cannot be reached does not stop the mail: warn says why,
// and Record then does nothing.
func Open(g *config.Globals) (s *Setup, warn string, err error) {
	tab, err := Aliases(g)
	if err != nil {
		return nil, "", err
	}
	s = &Setup{Aliases: tab}
	if g.Syslog != "" {
		l, err := OpenSyslog(g.Syslog, g.SyslogSocket)
		if err != nil {
			return s, "cannot log to syslog (" + err.Error() + "); sending without it", nil
		}
		s.log = l
	}
	return s, "", nil
}

// Record writes e's syslog line, when logging is on.
func (s *Setup) Record(e Event) {
	if s == nil || s.log == nil {
		return
	}
	_ = s.log.Log(e)
}

// Close closes the syslog connection.
func (s *Setup) Close() {
	if s != nil && s.log != nil {
		_ = s.log.Close()
	}
}
