package main

import (
	"context"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/m365send/m365send/queue"
	"github.com/m365send/m365send/queue/spool"
)

// enqueueCmd puts a message into a spool, as the relay would:
//
//	enqueue DIR VAR PROFILE FROM TO[,TO...] FILE
//
// FROM "-" is the null sender; VAR receives the message's ID.
func enqueueCmd(ts *testscript.TestScript, neg bool, args []string) {
	noNeg(ts, neg, "enqueue")
	if len(args) != 6 {
		ts.Fatalf("usage: enqueue DIR VAR PROFILE FROM TO[,TO...] FILE")
	}
	from := args[3]
	if from == "-" {
		from = ""
	}
	data, err := os.ReadFile(ts.MkAbs(args[5]))
	ts.Check(err)
	crlf := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n", "\r\n")
	q, err := spool.Open(ts.MkAbs(args[0]), spool.Options{})
	ts.Check(err)
	defer q.Close()
	id, err := q.Enqueue(context.Background(), queue.Envelope{From: from, To: strings.Split(args[4], ","), Profile: args[2], Source: "script"},
		strings.NewReader(crlf))
	ts.Check(err)
	ts.Setenv(args[1], string(id))
}
