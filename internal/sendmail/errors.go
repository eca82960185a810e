package sendmail

// UsageError is a problem with the command line: an unknown option, a
// missing option argument, or a mode m365send does not implement. Callers
// exit with 64 (EX_USAGE).
type UsageError struct {
	Msg  string // what is wrong
	Hint string // what to do, or ""
}

// Error returns Msg alone; the hint is left to the caller.
func (e *UsageError) Error() string { return e.Msg }

// MessageError is a problem with the message or an address in it: an empty
// message, a header line without a colon, a malformed address, no
// recipients. Nothing has been sent. Callers exit with 65 (EX_DATAERR).
type MessageError struct {
	Msg  string // what is wrong
	Line int    // 1-based line of the message where known, else 0
	Hint string // what to do, or ""
	Err  error  // the underlying parse error, if any
}

// Error returns Msg alone: Msg already names the line where one is known,
// and the hint and the underlying error are left to the caller.
func (e *MessageError) Error() string { return e.Msg }

// Unwrap returns the underlying parse error, if any.
func (e *MessageError) Unwrap() error { return e.Err }
