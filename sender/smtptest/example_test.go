package smtptest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"github.com/m365send/m365send/sender/smtptest"
)

// A fault makes the 1st message get "451 4.7.0"; the server records only
// what it accepted.
func Example() {
	srv, err := smtptest.New(smtptest.Options{
		Faults: []smtptest.Fault{{Stage: smtptest.StageEndOfData, N: 1, Reply: "451 4.7.0 Temporary server error"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		log.Fatal(err)
	}
	if err := c.Auth(smtp.XOAuth2Auth("alerts@contoso.com", "any-token")); err != nil {
		log.Fatal(err)
	}
	for try := 1; try <= 2; try++ {
		_ = c.Mail("<alerts@contoso.com>")
		_ = c.Rcpt("<ops@example.com>")
		w, _ := c.Data()
		fmt.Fprint(w, "Subject: hi\r\n\r\nhello\r\n")
		fmt.Println("try", try, "error:", w.Close())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, _ := srv.WaitMessages(ctx, 1)
	fmt.Printf("%s %v %q\n", msgs[0].User, msgs[0].To, msgs[0].Data)
	// Output:
	// try 1 error: 451 "4.7.0 Temporary server error"
	// try 2 error: <nil>
	// alerts@contoso.com [ops@example.com] "Subject: hi\r\n\r\nhello\r\n"
}
