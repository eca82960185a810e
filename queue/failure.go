package queue

import "github.com/m365send/m365send/queue/deliveryerr"

// Failure is a stored delivery failure: what the server or network said,
// its kind and what to do (see queue/deliveryerr). It is an error with
// Kind and Hint, so failure.KindOf and failure.HintOf work on it.
type Failure = deliveryerr.Failure

// FailureOf describes err for storage: the SMTP reply of a *sender.Error,
// the kind and hint along err's chain. The text is err's one-line text.
func FailureOf(err error) *Failure { return deliveryerr.Of(err) }

// oneLine makes s one line of at most 1000 bytes with no control
// characters, for files, logs and DSNs.
func oneLine(s string) string { return deliveryerr.OneLine(s) }
