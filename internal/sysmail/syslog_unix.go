//go:build !windows && !plan9

package sysmail

import (
	"fmt"
	"log/syslog"
)

// facilities are the syslog facilities config's syslog key takes.
var facilities = map[string]syslog.Priority{
	"mail": syslog.LOG_MAIL, "user": syslog.LOG_USER, "daemon": syslog.LOG_DAEMON,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// Syslog writes sendmail's lines to syslog (journald reads the same
// socket), as msmtp's syslog option does.
type Syslog struct {
	w   *syslog.Writer
	who string
}

// OpenSyslog connects to the system logger with facility (config's syslog
// key), or to the Unix datagram socket socket when it is not "" (tests,
// containers). The tag is "m365send-sendmail".
func OpenSyslog(facility, socket string) (*Syslog, error) {
	pri, ok := facilities[facility]
	if !ok {
		return nil, fmt.Errorf("syslog: unknown facility %q", facility)
	}
	pri |= syslog.LOG_INFO
	var w *syslog.Writer
	var err error
	if socket != "" {
		w, err = syslog.Dial("unixgram", socket, pri, "m365send-sendmail")
	} else {
		w, err = syslog.New(pri, "m365send-sendmail")
	}
	if err != nil {
		return nil, fmt.Errorf("syslog: %w", err)
	}
	return &Syslog{w: w, who: CurrentUser()}, nil
}

// Log writes e's line: at info when it was sent or queued, at err when
// it failed.
func (s *Syslog) Log(e Event) error {
	line := e.Line(s.who)
	if e.Err != nil {
		return s.w.Err(line)
	}
	return s.w.Info(line)
}

// Close closes the connection to the logger.
func (s *Syslog) Close() error { return s.w.Close() }
