package config

import (
	"github.com/m365send/m365send/internal/configcheck"
	"github.com/m365send/m365send/internal/hostcheck"
)

// HostOf is the host name in "host", "host:port", "[v6]:port" or a URL
// such as https://host:port/, without a port, brackets, user info or a
// trailing dot, as written (not lowercased); "" for "".
func HostOf(s string) string { return hostcheck.HostOf(s) }

// IsGUID reports whether s is a GUID such as an application (client) or
// tenant ID.
func IsGUID(s string) bool { return configcheck.IsGUID(s) }
