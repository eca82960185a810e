package main

import (
	"fmt"
	"io"
)

// Exit codes, after sysexits(3), as sendmail and msmtp use them.
const (
	exitOK          = 0
	exitUsage       = 64 // EX_USAGE
	exitDataErr     = 65 // EX_DATAERR: bad message or address
	exitUnavailable = 69 // EX_UNAVAILABLE: permanent SMTP failure
	exitSoftware    = 70 // EX_SOFTWARE: internal error
	exitTempFail    = 75 // EX_TEMPFAIL: retry later
	exitNoPerm      = 77 // EX_NOPERM: Microsoft denied permission
	exitConfig      = 78 // EX_CONFIG
)

// exitCodeFor maps an error from config, token or sender to a sysexits
// code. Filled in by the CLI issue (#4).
func exitCodeFor(err error) int {
	if err == nil {
		return exitOK
	}
	return exitSoftware
}

// printError writes err as one line saying what happened and, where a hint
// is known, a second line saying what to do. Filled in by the CLI issue (#4).
func printError(w io.Writer, prog string, err error) {
	fmt.Fprintf(w, "%s: %v\n", prog, err)
}
