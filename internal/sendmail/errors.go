package sendmail

import "github.com/m365send/m365send/internal/failure"

// UsageError is a problem with the command line: an unknown option, a
// missing option argument, or a mode m365send does not implement. Its
// kind is failure.Usage (exit 64, EX_USAGE).
type UsageError struct {
	Msg    string // what is wrong
	Advice string // what to do, or "" (see Hint)
}

// Error returns Msg alone; the hint is left to the caller.
func (e *UsageError) Error() string { return e.Msg }

// Kind is failure.Usage.
func (e *UsageError) Kind() failure.Kind { return failure.Usage }

// Hint returns Advice.
func (e *UsageError) Hint() string { return e.Advice }

// MessageError is a problem with the message or an address in it: an empty
// message, a header line without a colon, a NUL octet, a malformed
// address, no recipients. Nothing has been sent. Its kind is
// failure.BadAddress for an address, failure.BadMessage otherwise (exit
// 65, EX_DATAERR).
type MessageError struct {
	Msg    string // what is wrong
	Line   int    // 1-based line of the message where known, else 0
	Advice string // what to do, or "" (see Hint)
	Err    error  // the underlying parse error, if any

	address bool // the problem is an address
}

// Error returns Msg alone: Msg already names the line where one is known,
// and the hint and the underlying error are left to the caller.
func (e *MessageError) Error() string { return e.Msg }

// Unwrap returns the underlying parse error, if any.
func (e *MessageError) Unwrap() error { return e.Err }

// Kind is failure.BadAddress for an address, else failure.BadMessage.
func (e *MessageError) Kind() failure.Kind {
	if e.address {
		return failure.BadAddress
	}
	return failure.BadMessage
}

// Hint returns Advice.
func (e *MessageError) Hint() string { return e.Advice }
