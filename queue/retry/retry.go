// Package retry is the queue's retry schedule: when a message that failed
// is tried again, and whether a failure is permanent (Policy.Judge, from
// the replies Exchange Online gives). Package queue uses it as
// queue.Policy.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// Defaults of Policy.
const (
	DefaultFirstWait = time.Minute      // after the first failed try
	DefaultMaxWait   = 30 * time.Minute // the cap of the doubling
	DefaultBusyWait  = time.Minute      // after 432 4.3.2 or a rate reply
	DefaultQuotaWait = time.Hour        // after the sending quota is reached
	DefaultRetryFor  = 5 * 24 * time.Hour
)

// Policy is the retry schedule: capped exponential backoff with jitter,
// with waits of their own for Exchange Online's "too busy" and quota
// replies. Zero fields take the defaults.
type Policy struct {
	// FirstWait is the wait after a first failed try; it doubles with
	// each further try up to MaxWait.
	FirstWait time.Duration
	// MaxWait caps the doubling.
	MaxWait time.Duration
	// BusyWait is the wait after Exchange refused a connection as one too
	// many for the mailbox (432 4.3.2) or paced it (4.4.2): short and not
	// growing, since the mailbox is fine, only busy.
	BusyWait time.Duration
	// QuotaWait is the wait after the mailbox reached its sending quota
	// (failure.Quota): the quota clears within a day, so retrying sooner
	// only adds refusals.
	QuotaWait time.Duration
	// RetryFor is how long after Queued a message is tried before its
	// pending recipients fail (default 5 days, as for Internet mail).
	RetryFor time.Duration
	// Rand returns a number in [0, 1) for the jitter (default
	// math/rand/v2.Float64); tests make it fixed.
	Rand func() float64
}

// WithDefaults returns p with the defaults in its zero fields.
func (p Policy) WithDefaults() Policy {
	if p.FirstWait <= 0 {
		p.FirstWait = DefaultFirstWait
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.MaxWait < p.FirstWait {
		p.MaxWait = p.FirstWait
	}
	if p.BusyWait <= 0 {
		p.BusyWait = DefaultBusyWait
	}
	if p.QuotaWait <= 0 {
		p.QuotaWait = DefaultQuotaWait
	}
	if p.RetryFor <= 0 {
		p.RetryFor = DefaultRetryFor
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// jitter returns a wait between d/2 and d, so that messages that failed
// together do not all come back together.
func (p Policy) jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + time.Duration(p.Rand()*float64(d-half))
}

// Backoff is the wait after the try numbered attempt (1 for the first)
// failed with nothing more specific to go by: FirstWait·2^(attempt-1),
// capped at MaxWait, jittered.
func (p Policy) Backoff(attempt int) time.Duration {
	p = p.WithDefaults()
	d := p.MaxWait
	if attempt < 1 {
		attempt = 1
	}
	if attempt < 32 {
		if e := p.FirstWait << (attempt - 1); e > 0 && e < d {
			d = e
		}
	}
	return p.jitter(d)
}

// Verdict is what a failed try means for the message.
type Verdict struct {
	// Permanent: the recipients concerned failed for good.
	Permanent bool
	// Recipient, when set, is the only recipient concerned (a refused
	// RCPT TO): it fails (Permanent) or waits Wait alone, and the others
	// are tried at once; otherwise every pending recipient is concerned.
	Recipient string
	// Mailbox: the failure concerns the mailbox, not this message (the
	// connection, sign-in, quota or concurrency failed), so every message
	// of the mailbox waits, and none is refused for it.
	Mailbox bool
	// Wait is how long to wait before the next try.
	Wait time.Duration
}

// Judge reads the failure err of try number attempt. The rules, from the
// replies Exchange Online gives (docs/microsoft.md):
//   - the sending quota (failure.Quota, e.g. 554 5.2.0
//     SubmissionQuotaExceeded): the mailbox waits QuotaWait;
//   - 432 4.3.2 (too many connections) and 4.4.2 (paced): the mailbox
//     waits BusyWait;
//   - anything before MAIL FROM (connecting, TLS, the token, AUTH) and 421
//     (the service closing the channel): the mailbox waits Backoff, and
//     no message is refused for it (a sign-in or permission problem is
//     the operator's to fix, within RetryFor);
//   - a 4xx reply to RCPT TO (452 4.2.2, a full mailbox, for one): that
//     recipient alone waits Backoff, the others go on;
//   - another 4xx reply, or the network failing during a message (451
//     4.7.0 among them): this message waits Backoff;
//   - a 5xx reply to MAIL FROM, RCPT TO or the data, or a message the
//     sender finds invalid: permanent, for the refused recipient only
//     when RCPT TO was refused.
func (p Policy) Judge(err error, attempt int) Verdict {
	p = p.WithDefaults()
	if errors.Is(err, sender.ErrInvalidMessage) {
		return Verdict{Permanent: true}
	}
	kind := failure.KindOf(err)
	var e *sender.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || kind == failure.Temporary {
			return Verdict{Wait: p.Backoff(attempt)}
		}
		if kind == failure.BadMessage || kind == failure.BadAddress {
			return Verdict{Permanent: true}
		}
		return Verdict{Wait: p.Backoff(attempt)}
	}
	busy := e.Code/100 == 4 && (e.Code == 432 || e.EnhancedCode == "4.3.2" && e.Code != 421 || e.EnhancedCode == "4.4.2")
	switch {
	case kind == failure.Quota:
		return Verdict{Mailbox: true, Wait: p.QuotaWait + time.Duration(p.Rand()*float64(p.QuotaWait/4))}
	case busy:
		return Verdict{Mailbox: true, Wait: p.jitter(p.BusyWait)}
	case !messageStage(e.Stage), e.Code == 421:
		return Verdict{Mailbox: true, Wait: p.Backoff(attempt)}
	case e.Code/100 == 4 && e.Stage == sender.StageRcpt && e.Recipient != "":
		return Verdict{Recipient: e.Recipient, Wait: p.Backoff(attempt)}
	case e.Code/100 == 5:
		v := Verdict{Permanent: true}
		if e.Stage == sender.StageRcpt {
			v.Recipient = e.Recipient
		}
		return v
	case e.Code == 0 && !e.Temporary && (kind == failure.BadMessage || kind == failure.BadAddress):
		return Verdict{Permanent: true}
	}
	return Verdict{Wait: p.Backoff(attempt)}
}

// messageStage reports whether a failure at st concerns one message
// rather than the connection.
func messageStage(st sender.Stage) bool {
	switch st {
	case sender.StageMail, sender.StageRcpt, sender.StageData:
		return true
	}
	return false
}

// Expired reports whether the retry period of a message queued at queued
// has ended at now.
func (p Policy) Expired(queued, now time.Time) bool {
	p = p.WithDefaults()
	return !now.Before(queued.Add(p.RetryFor))
}
