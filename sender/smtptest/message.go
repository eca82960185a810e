package smtptest

// Message is one message the server accepted (250 after the final dot).
type Message struct {
	// Seq is the message's place among those accepted (1 for the first).
	Seq int
	// Conn is the connection that carried it (1 for the first).
	Conn int
	// User is the authenticated XOAUTH2 user=, lower case.
	User string
	// From is the MAIL FROM address.
	From string
	// To are the RCPT TO addresses, in order.
	To []string
	// Data is the message as received, CRLF line endings kept, after
	// dot-unstuffing and without the final ".\r\n". Nil with
	// Options.DiscardData.
	Data []byte
	// Size is the length of the message text, also with DiscardData.
	Size int64
}
