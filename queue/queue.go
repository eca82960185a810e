// Package queue is the relay's durable mail queue: what is accepted is
// kept until it is delivered, refused for good (and reported to its sender
// with a delivery status notification), or moved aside as a dead letter.
//
// The package defines the Queue interface that every backend implements
// (the on-disk spool in queue/spool; a PostgreSQL backend later), the
// retry policy (Policy), the delivery status notification (DSN), and the
// delivery engine (Deliverer) that takes due messages from a Queue and
// submits them through a Transport, such as a *sender.Sender, within
// Exchange Online's per-mailbox limits.
//
// # The contract of a Queue
//
// Enqueue returns only when the message, its envelope and the state of each
// recipient are durable: after a crash at any moment a message is either
// fully queued or absent, and an ID that Enqueue returned is never lost.
//
// A message is delivered by whoever claims it. Claim returns due messages
// (NextAttempt not after now), each leased to the caller until
// Lease.Until: nobody else — another goroutine, another process, another
// relay on the same database — gets the message while the lease holds.
// The holder then, in this order:
//
//  1. records the try before making it: Attempts+1, LastAttempt, and a
//     NextAttempt in the future as if the try were to fail without a word,
//     with Update (so a process killed mid-delivery neither loses the
//     message nor retries it in a tight loop);
//  2. reads the data with Open and tries;
//  3. records each recipient's result with Update, and then ends the
//     lease with Release (some recipient is still pending), Done (every
//     recipient is delivered or failed; the message leaves the queue) or
//     DeadLetter (the message cannot be delivered nor reported; it moves
//     aside, kept for an operator).
//
// Update, Release, Done and DeadLetter fail with ErrLeaseLost when the
// message's lease is no longer the caller's (it expired and someone else
// claimed the message, or an operator deleted it). Setting m.Lease.Until
// before Update renews the lease.
//
// # Lost replies
//
// When the server's reply to the end of a message (the final dot) is
// lost, nobody can know whether the message arrived. The Deliverer keeps
// the promise that such a message goes out in full at most twice, and
// only then:
//
//   - a try whose final-dot reply was lost (sender.Result.MaybeDelivered)
//     marks the recipients of that transaction MaybeSent, stored with
//     the message, and the message is deferred as after any temporary
//     failure;
//   - the next try of those recipients sends them alone, with
//     sender.Message.SentBefore, so the sender makes one try only (the
//     message's other pending recipients go in the try after, at once);
//   - if that try is accepted, they are Delivered; if it is refused
//     temporarily (before the data went out), they stay MaybeSent and
//     are tried again the same way;
//   - if its reply is lost too, or the sender itself sent the message
//     twice in one call without a reply (both: sender.Result.MaybeDuplicate),
//     or the server refuses them for good, or the retry period ends, they become MaybeDelivered: never tried again, logged
//     as a warning with the message ID and the hint, and no notification
//     tells the sender that they failed (they may have received it).
//
// A message with a MaybeDelivered recipient then moves to the dead letters
// (after the notification of any recipients that failed), so that an
// operator sees it in List and Get with its reason. Retry of such a dead
// letter (after checking with a recipient that it did not arrive) makes
// those recipients pending again, still MaybeSent: one more try each.
//
// Operators (m365send queue) use List, Get, Retry and Delete, safely while
// a relay runs; Retry and Delete fail with ErrBusy for a message that is
// being delivered. List and Claim never read message bodies.
package queue

import (
	"context"
	"errors"
	"io"
	"regexp"
	"time"

	"github.com/m365send/m365send/internal/failure"
)

// Queue is a durable queue of messages waiting for delivery. Every method
// is safe for concurrent use. See the package documentation for the
// contract.
type Queue interface {
	// Enqueue stores a message read from data for the recipients of env,
	// and returns its ID once it is durable. data is the message as
	// received (RFC 5322, CRLF line endings), read to its end.
	Enqueue(ctx context.Context, env Envelope, data io.Reader) (ID, error)

	// Claim leases up to req.Max messages that are due at req.Now to the
	// caller for req.Lease, oldest NextAttempt first. Messages whose
	// profile is in req.Skip are left alone.
	Claim(ctx context.Context, req ClaimRequest) ([]*Message, error)

	// Open returns the message's data. It works for queued messages and
	// dead letters, with or without a lease.
	Open(ctx context.Context, id ID) (io.ReadCloser, error)

	// Update stores m's state (attempts, next attempt, last error,
	// recipients) and its lease's Until; m must be leased to the caller.
	Update(ctx context.Context, m *Message) error

	// Release ends the lease on m without changing its stored state.
	Release(ctx context.Context, m *Message) error

	// Done removes m, leased to the caller, from the queue.
	Done(ctx context.Context, m *Message) error

	// DeadLetter moves m, leased to the caller, to the dead letters with
	// reason (one line), keeping its data and its last stored state.
	DeadLetter(ctx context.Context, m *Message, reason string) error

	// List returns the queued messages (or, with f.Dead, the dead
	// letters), oldest first, without their data. Lease is zero in what
	// List and Get return.
	List(ctx context.Context, f Filter) ([]*Message, error)

	// Get returns one message, queued or dead, or an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, id ID) (*Message, error)

	// Retry makes a queued message due at now. A dead letter goes back
	// into the queue: recipients not delivered are pending again, and its
	// retry period starts anew (Queued becomes now).
	Retry(ctx context.Context, id ID, now time.Time) error

	// Delete removes a message, queued or dead, without notifying anyone.
	Delete(ctx context.Context, id ID) error

	// Close releases what the queue holds open (leases end).
	Close() error
}

// ID names a queued message: letters, digits and '-', at most 64, chosen
// by the queue. IDs sort roughly by the time of Enqueue.
type ID string

var idRe = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// Valid reports whether id has the form of an ID, so that a string typed
// by an operator can be used safely (no path separators, no dots).
func (id ID) Valid() bool { return idRe.MatchString(string(id)) }

// ParseID checks s (an operator's input) and returns it as an ID.
func ParseID(s string) (ID, error) {
	id := ID(s)
	if !id.Valid() {
		return "", failure.New(failure.Usage, "queue: "+quoteID(s)+" is not a message ID", "take the ID from `m365send queue list`")
	}
	return id, nil
}

func quoteID(s string) string {
	if len(s) > 70 {
		s = s[:70] + "..."
	}
	return `"` + s + `"`
}

// Envelope is what the relay learned from the SMTP transaction.
type Envelope struct {
	// From is the envelope sender (MAIL FROM); "" is the null sender, to
	// whom no delivery status notification is ever sent.
	From string `json:"from"`
	// To are the envelope recipients (RCPT TO), at least one.
	To []string `json:"to"`
	// Profile names the configuration profile (and so the mailbox) that
	// delivers the message.
	Profile string `json:"profile"`
	// Source says who submitted it (client address, user), for logs and
	// operators; free text, may be "".
	Source string `json:"source,omitempty"`
	// Notification marks a delivery status notification made by the
	// queue: when it cannot be delivered it becomes a dead letter rather
	// than a notification about a notification.
	Notification bool `json:"notification,omitempty"`
}

// Status is where one recipient stands.
type Status string

// Recipient statuses.
const (
	Pending   Status = "pending"   // not yet delivered; will be tried again
	Delivered Status = "delivered" // Exchange accepted the message for it
	Failed    Status = "failed"    // refused for good, or its retry period ended
	// MaybeDelivered: sent in full, but the server's reply to the end of
	// the message was lost, and a later try could not settle it; it may
	// have arrived (perhaps twice). Never tried again, never reported as
	// failed (see "Lost replies" in the package documentation).
	MaybeDelivered Status = "maybe-delivered"
)

// Recipient is the state of one envelope recipient.
type Recipient struct {
	// Address is the RCPT TO address.
	Address string `json:"address"`
	// Status is where it stands.
	Status Status `json:"status"`
	// Updated is when Status or Error last changed (zero before the first
	// try).
	Updated time.Time `json:"updated,omitzero"`
	// Error is the last failure for this recipient, or nil.
	Error *Failure `json:"error,omitempty"`
	// NextAttempt, when after the message's NextAttempt, is when this
	// recipient is tried again: it was deferred alone (a 4xx reply to its
	// RCPT TO) while the others went on.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// MaybeSent reports that a copy may already have arrived: the reply
	// to the final dot of a try for this recipient was lost. Its next try
	// is its last (sender.Message.SentBefore).
	MaybeSent bool `json:"maybe_sent,omitempty"`
}

// Message is a queued message without its data.
type Message struct {
	// ID names the message.
	ID ID `json:"id"`
	// Envelope is as given to Enqueue.
	Envelope
	// Size is the length of the data in bytes.
	Size int64 `json:"size"`
	// Queued is when Enqueue stored it (or when Retry revived it from the
	// dead letters); the retry period counts from here.
	Queued time.Time `json:"queued"`
	// Attempts counts the tries so far.
	Attempts int `json:"attempts"`
	// LastAttempt is when the last try started (zero before the first).
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// NextAttempt is when the message is due (Queued for a new message).
	NextAttempt time.Time `json:"next_attempt"`
	// LastError is the failure of the last try, or nil.
	LastError *Failure `json:"last_error,omitempty"`
	// Recipients are the envelope recipients with their state, in the
	// order of Envelope.To.
	Recipients []Recipient `json:"recipients"`
	// DeadReason says why the message is a dead letter; "" for a queued
	// message.
	DeadReason string `json:"dead_reason,omitempty"`

	// Lease is set on messages returned by Claim.
	Lease Lease `json:"-"`
}

// Pending returns the addresses of the recipients still pending.
func (m *Message) Pending() []string {
	var out []string
	for _, r := range m.Recipients {
		if r.Status == Pending {
			out = append(out, r.Address)
		}
	}
	return out
}

// Lease is a claim on a message.
type Lease struct {
	// Token identifies the claim; the backend checks it on every change.
	Token string
	// Until is when the lease ends unless renewed (by Update).
	Until time.Time
}

// ClaimRequest says what Claim should return.
type ClaimRequest struct {
	// Now is the current time: messages with NextAttempt not after it are
	// due, and leases run from it.
	Now time.Time
	// Max caps the number of messages returned (at least 1).
	Max int
	// Lease is how long the caller may hold each message (default
	// DefaultLease).
	Lease time.Duration
	// Skip lists profiles whose messages are not wanted now (their
	// mailbox is busy or held).
	Skip []string
}

// DefaultLease is the lease Claim grants when ClaimRequest.Lease is zero.
const DefaultLease = 10 * time.Minute

// Filter selects what List returns.
type Filter struct {
	// Dead lists the dead letters instead of the queue.
	Dead bool
}

// Errors of Queue methods; backends wrap them with %w.
var (
	// ErrNotFound: no message has that ID.
	ErrNotFound = failure.New(failure.Usage, "queue: no such message", "list the queue with `m365send queue list`")
	// ErrBusy: the message is leased to someone delivering it now.
	ErrBusy = failure.New(failure.Temporary, "queue: message is being delivered", "try again in a minute, when the delivery has finished")
	// ErrLeaseLost: the caller's lease on the message ended (expired and
	// claimed by another, or the message was deleted).
	ErrLeaseLost = errors.New("queue: lease lost")
	// ErrClosed: the queue was closed.
	ErrClosed = errors.New("queue: closed")
)

// Validate reports what is wrong with env for Enqueue, or nil.
func (env *Envelope) Validate() error {
	if len(env.To) == 0 {
		return failure.New(failure.Usage, "queue: no recipient", "")
	}
	for _, a := range append([]string{env.From}, env.To...) {
		for _, c := range []byte(a) {
			if c < 0x20 || c == 0x7f {
				return failure.New(failure.BadAddress, "queue: address contains a control character", "")
			}
		}
	}
	for _, a := range env.To {
		if a == "" {
			return failure.New(failure.BadAddress, "queue: empty recipient address", "")
		}
	}
	return nil
}

// NewMessage returns the state of a message just enqueued at now: every
// recipient pending, due at once. Backends use it so that they agree.
func NewMessage(id ID, env Envelope, size int64, now time.Time) *Message {
	m := &Message{ID: id, Envelope: env, Size: size, Queued: now, NextAttempt: now}
	m.Envelope.To = append([]string(nil), env.To...)
	for _, a := range env.To {
		m.Recipients = append(m.Recipients, Recipient{Address: a, Status: Pending})
	}
	return m
}

// DueAt makes m and each of its recipients due at now, as Retry does.
// Backends use it so that they agree.
func (m *Message) DueAt(now time.Time) {
	m.NextAttempt = now
	for i := range m.Recipients {
		m.Recipients[i].NextAttempt = time.Time{}
	}
}
