package smtptest

// Message is one message the server accepted (250 after the final dot).
type Message struct {
	Seq  int      // 1 for the first message the server accepted
	Conn int      // which connection carried it (1 for the first)
	User string   // the authenticated XOAUTH2 user=, lower case
	From string   // the MAIL FROM address
	To   []string // the RCPT TO addresses, in order
	// Data is the message as received, CRLF line endings kept, after
	// dot-unstuffing and without the final ".\r\n". Nil with
	// Options.DiscardData.
	Data []byte
	Size int64 // len of the message text, also with DiscardData
}
