// Package transport is what send, sendmail and the relay's deliveries
// send through: a Transport, which *sender.Sender (SMTP AUTH) and
// *graph.Sender (Microsoft Graph) both are, and Auto, which tries SMTP and
// switches a profile to Graph when Office 365 says SMTP AUTH is disabled
// or port 587 cannot be reached (docs/graph.md, "Choosing the transport").
//
// It holds no protocol of its own.
package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// The values of the transport profile key.
const (
	SMTP  = "smtp"
	Graph = "graph"
	Auto  = "auto"
)

// Names lists the transport key's values, the default first.
func Names() []string { return []string{SMTP, Graph, Auto} }

// Transport submits messages for one mailbox, reporting each message's
// Result as soon as it is known (see sender.Sender.SendEach).
type Transport interface {
	Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error)
	SendEach(ctx context.Context, each func(i int, r sender.Result), msgs ...*sender.Message) ([]sender.Result, error)
}

// DefaultRemember is how long Switcher keeps a profile on Graph after it
// switched.
const DefaultRemember = time.Hour

// Switcher is the transport "auto": it sends over SMTP and, when SMTP
// fails in a way Graph would not (ShouldSwitch), sends the messages that
// failed so over Graph, says so once through Warn, and keeps using Graph
// for Remember (recorded in StateFile, so later runs skip SMTP too). It
// never switches on a failure Graph would share: a refused recipient, a
// quota, a message too large. Safe for concurrent use.
type Switcher struct {
	SMTP, Graph Transport
	// StateFile records when the switch happened ("": this process only).
	StateFile string
	// Remember is how long a switch holds (default DefaultRemember).
	Remember time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Warn is called once, when the switch happens, with one line saying
	// why (nil: silent).
	Warn func(line string)

	mu       sync.Mutex
	switched bool
}

// Send is SendEach without each.
func (s *Switcher) Send(ctx context.Context, msgs ...*sender.Message) ([]sender.Result, error) {
	return s.SendEach(ctx, nil, msgs...)
}

// SendEach sends over Graph when a switch holds, else over SMTP, then over
// Graph those messages SMTP failed with a reason to switch. each sees every
// message once, with its final Result.
func (s *Switcher) SendEach(ctx context.Context, each func(i int, r sender.Result), msgs ...*sender.Message) ([]sender.Result, error) {
	if s.onGraph() {
		return s.Graph.SendEach(ctx, each, msgs...)
	}
	var held []int
	results, err := s.SMTP.SendEach(ctx, func(i int, r sender.Result) {
		if r.Err != nil && ShouldSwitch(r.Err) {
			held = append(held, i)
			return
		}
		if each != nil {
			each(i, r)
		}
	}, msgs...)
	if err == nil {
		return results, nil
	}
	var again []int
	for i, r := range results {
		if r.Err != nil && ShouldSwitch(r.Err) && !r.MaybeDelivered {
			again = append(again, i)
		}
	}
	if len(again) == 0 {
		s.flush(each, held, results)
		return results, err
	}
	s.switchNow(err)
	sub := make([]*sender.Message, len(again))
	for k, i := range again {
		sub[k] = msgs[i]
	}
	sent, _ := s.Graph.SendEach(ctx, func(k int, r sender.Result) {
		results[again[k]] = r
		if each != nil {
			each(again[k], r)
		}
	}, sub...)
	for k, r := range sent {
		results[again[k]] = r
	}
	s.flush(each, held, results, again...)
	return results, firstErr(results)
}

// flush reports to each the held results not resent.
func (s *Switcher) flush(each func(int, sender.Result), held []int, results []sender.Result, resent ...int) {
	if each == nil {
		return
	}
	for _, i := range held {
		if !contains(resent, i) {
			each(i, results[i])
		}
	}
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func firstErr(results []sender.Result) error {
	for _, r := range results {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

// ShouldSwitch reports whether an SMTP failure is one Graph would not
// share: Office 365 saying SMTP AUTH is disabled (535 5.7.139
// "SmtpClientAuthentication is disabled"), or the submission port that
// cannot be reached (no connection made).
func ShouldSwitch(err error) bool {
	var se *sender.Error
	if !errors.As(err, &se) {
		return false
	}
	if se.Code == 535 && se.EnhancedCode == "5.7.139" && strings.Contains(strings.ToLower(se.Text), "smtpclientauthentication is disabled") {
		return true
	}
	return se.Stage == sender.StageConnect && se.Code == 0 && failure.KindOf(se) == failure.Temporary
}

// onGraph reports whether a switch holds: made in this process, or
// recorded in StateFile less than Remember ago.
func (s *Switcher) onGraph() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.switched {
		return true
	}
	if s.StateFile == "" {
		return false
	}
	b, err := os.ReadFile(s.StateFile)
	if err != nil {
		return false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	age := s.now().Sub(t)
	return age >= 0 && age < s.remember()
}

// switchNow records the switch and warns once.
func (s *Switcher) switchNow(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.switched {
		return
	}
	s.switched = true
	if s.StateFile != "" {
		if err := os.MkdirAll(filepath.Dir(s.StateFile), 0o700); err == nil {
			_ = os.WriteFile(s.StateFile, []byte(s.now().UTC().Format(time.RFC3339)+"\n"), 0o600)
		}
	}
	if s.Warn != nil {
		why := "port 587 cannot be reached"
		var se *sender.Error
		if errors.As(cause, &se) && se.Code != 0 {
			why = fmt.Sprintf("Office 365 says SMTP AUTH is disabled (%d %s)", se.Code, se.EnhancedCode)
		}
		s.Warn(fmt.Sprintf("%s; sending through Microsoft Graph instead, for the next %s (transport = \"auto\")", why, s.remember()))
	}
}

func (s *Switcher) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Switcher) remember() time.Duration {
	if s.Remember > 0 {
		return s.Remember
	}
	return DefaultRemember
}
