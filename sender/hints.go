package sender

import "github.com/m365send/m365send/internal/replyhints"

// ReplyHint is one row of the table that gives a server reply its kind of
// failure and a one-line hint. The rows follow docs/microsoft.md ("Replies
// and what they mean"); rows with Default set are the per-class defaults
// that catch a reply no specific row knows (an unknown 4xx, a 535 with
// another enhanced code, an unknown 5.1.x, ...).
type ReplyHint = replyhints.Hint

// ReplyHints returns the reply table, for documentation and tests: the
// specific rows first, then the per-class defaults, in the order they are
// tried. The rows are copies; changing them changes nothing.
func ReplyHints() []ReplyHint { return replyhints.All() }

// replyHint picks the row for a server reply; text is the reply text
// after the codes. Every reply has one.
func replyHint(code int, enh, text string) ReplyHint {
	return replyhints.For(code, enh, text)
}
