// Package sendmail implements the sendmail(8) command-line interface that
// legacy programs (cron, mail(1), PHP's mail(), git send-email, monitoring
// agents) use to hand a message to the local mail system: sendmail's own
// option syntax, reading the message on standard input, choosing the
// envelope recipients, and the few header changes sendmail itself makes.
//
// It does no I/O beyond reading the message (and spooling it to private
// temporary files) and knows nothing of Microsoft 365: the command
// (cmd/m365send) loads the profile, calls Spool and Message.FinishFile,
// and submits the file with the sender package (sender.Message.RawFile).
//
// The flow is:
//
//	opts, err := sendmail.ParseArgs(args)           // *UsageError: exit 64
//	msg, err := sendmail.Spool(stdin, opts, "")     // *MessageError: exit 65
//	defer msg.Remove()
//	path, err := msg.FinishFile("", sendmail.FinishOptions{Mailbox: ..., FromName: ...})
//	defer os.Remove(path)
//
// Spool holds only the header block in memory (at most MaxHeaderSize);
// ReadMessage, Parse and Message.Bytes do the same in memory, for a
// message already there.
//
// Behaviour chosen where sendmail implementations differ (documented in
// docs/sendmail.md):
//
//   - With -t, recipients named as arguments are added to those in the
//     To, Cc and Bcc headers (Postfix and msmtp do this; classic sendmail
//     and Exim instead remove them). Duplicates are sent once.
//   - Options may follow recipients, as with GNU getopt, until "--".
//   - Without -i, a line holding only "." ends the message; other lines
//     that start with a dot are kept as they are (no dot-unstuffing, as in
//     Postfix). With -i (or -oi) a lone dot is an ordinary line.
//   - A Bcc header is always removed from the message that is sent, with or
//     without -t; its addresses are envelope recipients only with -t.
//   - A leading Unix "From " line (mbox separator) is dropped, as Postfix
//     and sendmail do.
//   - A From header without a domain (cron's "From: root (Cron Daemon)")
//     is replaced by the From sendmail adds: a local MTA would qualify it
//     with its own domain, and Microsoft 365 refuses it (SendAsDenied).
//   - When the first line is not a header at all, the whole input is the
//     body (as sendmail does for `echo hi | sendmail root`); a line without
//     a colon after the first header, before the blank line, is an error.
//   - What mail cannot carry is repaired where a repair is faithful and
//     refused where none is (RFC 5322 section 2.1.1 and 2.3): a bare LF
//     becomes CRLF; a lone CR ends its line in the body (progress output
//     under cron reads as a terminal shows it) and becomes a space in a
//     header; a line over 998 octets is folded at its last blank in the
//     header block and otherwise broken after 998 octets with CRLF and a
//     space, as Postfix does (smtp_line_length_limit); a NUL octet is
//     refused (exit 65). An address longer than SMTP allows (local part
//     64, domain 255, path 256 octets) is refused before connecting.
package sendmail
