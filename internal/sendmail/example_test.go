package sendmail_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/sendmail"
)

// Example shows what `sendmail -t -i` does with a message a program pipes
// in: recipients from the headers, Bcc stripped, the missing From, Date and
// Message-ID added, CRLF line endings.
func Example() {
	opts, err := sendmail.ParseArgs([]string{"-t", "-i", "-F", "Backup Job"})
	if err != nil {
		fmt.Println(err)
		return
	}
	in := "To: ops@example.com\nBcc: audit@example.com\nSubject: backup done\n\nAll good.\n"
	raw, err := sendmail.ReadMessage(strings.NewReader(in), opts.IgnoreDots)
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := sendmail.Parse(raw, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	data, err := msg.Bytes(sendmail.FinishOptions{
		Mailbox: "alerts@contoso.example",
		Now:     func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) },
		Rand:    bytes.NewReader(make([]byte, 16)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("envelope:", msg.Recipients)
	fmt.Print(strings.ReplaceAll(string(data), "\r\n", "\n"))
	// Output:
	// envelope: [ops@example.com audit@example.com]
	// To: ops@example.com
	// Subject: backup done
	// From: "Backup Job" <alerts@contoso.example>
	// Date: Tue, 24 Nov 2026 12:00:00 +0000
	// Message-ID: <00000000000000000000000000000000@contoso.example>
	//
	// All good.
}

// ExampleParseArgs parses the options cron passes on Debian.
func ExampleParseArgs() {
	opts, err := sendmail.ParseArgs([]string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "ops@example.com"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("name=%q ignoreDots=%v recipients=%q ignored=%q\n", opts.FullName, opts.IgnoreDots, opts.Recipients, opts.Ignored)
	// Output:
	// name="CronDaemon" ignoreDots=true recipients=["ops@example.com"] ignored=["-B8BITMIME" "-oem"]
}
