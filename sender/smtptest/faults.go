package smtptest

import "time"

// Stage is a point of the SMTP exchange where a Fault can be injected.
type Stage string

// Stages, in the order a submission reaches them.
const (
	StageGreeting Stage = "greeting" // the 220 banner after connect
	StageEHLO     Stage = "ehlo"     // every EHLO/HELO (before and after STARTTLS)
	StageStartTLS Stage = "starttls" // the STARTTLS command
	StageAuth     Stage = "auth"     // the AUTH command's final reply
	StageMail     Stage = "mail"     // MAIL FROM
	StageRcpt     Stage = "rcpt"     // RCPT TO
	StageData     Stage = "data"     // the DATA command (before 354)
	// StageBody is while the message text arrives: Drop closes the
	// connection after its first line, Stall stops reading. A Reply acts as
	// at StageEndOfData.
	StageBody Stage = "body"
	// StageEndOfData is after the final dot: a Reply replaces "250 OK" and
	// the message is not recorded; Drop closes without replying (the
	// message is not recorded either); AcceptThenDrop records the message
	// and then closes without replying.
	StageEndOfData Stage = "end-of-data"
)

// Fault changes what the server does when the exchange reaches Stage.
type Fault struct {
	// Stage is where the fault applies.
	Stage Stage
	// N selects the Nth time any connection reaches Stage (1-based, counted
	// over the server's life; for StageMail and StageEndOfData that is the
	// Nth message). 0 means every time.
	N int
	// Reply, when set, is sent instead of the normal reply, e.g.
	// "451 4.7.0 Temporary server error".
	Reply string
	// Drop closes the connection (after Reply, if any).
	Drop bool
	// Stall stops answering until the client disconnects or the server
	// closes.
	Stall bool
	// Delay waits this long (or until the server closes) before the
	// reply, the fault's or the normal one; at StageEndOfData the message
	// is recorded after the wait. A client that gives up earlier finds the
	// reply lost.
	Delay time.Duration
	// AcceptThenDrop, at StageEndOfData only, accepts and records the
	// message (after the usual size and SendAs checks) and then closes the
	// connection without sending the 250: the reply is lost, so the client
	// cannot know the message arrived. Other fields are ignored with it.
	AcceptThenDrop bool
}

type faultState struct {
	Fault
	fired bool
}

// hit counts one arrival at stage and returns the fault to apply, if any.
func (s *Server) hit(stage Stage) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[stage]++
	n := s.counts[stage]
	close(s.msgCh)
	s.msgCh = make(chan struct{})
	for _, f := range s.faults {
		if f.Stage != stage || f.fired {
			continue
		}
		if f.N == 0 {
			return &f.Fault
		}
		if f.N == n {
			f.fired = true
			return &f.Fault
		}
	}
	return nil
}
