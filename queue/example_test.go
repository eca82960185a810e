package queue_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/sender/smtptest"
)

// A relay's wiring: a spool, a sender per mailbox, a Deliverer, and an
// Enqueue (answered 250 only once it returns) followed by a Kick.
func Example() {
	srv, err := smtptest.New(smtptest.Options{}) // the fake Office 365
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "spool")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	q, err := spool.Open(dir, spool.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	// One Sender per mailbox, shared by every profile of that mailbox, so
	// that they share its token source. The Deliverer retries and paces.
	s, err := sender.New(sender.Config{
		Tokens:  oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "eyJ0eXAi..."}),
		Mailbox: "alerts@contoso.com",
		Host:    srv.Host(), Port: srv.Port(), RootCAs: srv.RootCAs(),
		MaxAttempts: 1, RatePerMinute: -1,
	})
	if err != nil {
		log.Fatal(err)
	}
	d, err := queue.NewDeliverer(queue.DelivererConfig{
		Queue: q,
		Route: func(_ context.Context, profile string) (queue.Route, error) {
			return queue.Route{Mailbox: "alerts@contoso.com", Transport: s}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()

	id, err := q.Enqueue(ctx, queue.Envelope{From: "alerts@contoso.com", To: []string{"ops@example.com"}, Profile: "alerts"},
		strings.NewReader("From: alerts@contoso.com\r\nTo: ops@example.com\r\nSubject: printer out of toner\r\n\r\nTray 2.\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	d.Kick()
	fmt.Println("queued:", id.Valid())

	msgs, err := srv.WaitMessages(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivered:", msgs[0].From, "->", msgs[0].To)
	cancel()
	<-done
	// Output:
	// queued: true
	// delivered: alerts@contoso.com -> [ops@example.com]
}
