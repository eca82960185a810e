//go:build windows || plan9

package sysmail

import "errors"

// Syslog is not available on this system.
type Syslog struct{}

// OpenSyslog fails: there is no syslog on this system.
func OpenSyslog(facility, socket string) (*Syslog, error) {
	return nil, errors.New("syslog: not available on this system")
}

// Log does nothing.
func (s *Syslog) Log(e Event) error { return nil }

// Close does nothing.
func (s *Syslog) Close() error { return nil }
