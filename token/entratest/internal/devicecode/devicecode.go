// Package devicecode is the fake Entra ID's (token/entratest) device code
// flow: the codes it hands out, what the person decides for each (approve,
// decline) or what a test does to it (expire), and what each poll of the
// token endpoint is answered (slow down, pending, declined, expired, the
// tokens).
package devicecode

import (
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/ids"
)

// Code is one device code and what it was asked for.
type Code struct {
	DeviceCode, UserCode string
	ClientID, TenantID   string
	Resource             string
	Scopes               []string
	Expires              time.Time
	// ApprovedBy is the UPN that signed in on it ("": nobody yet).
	ApprovedBy string
	polls      int
	declined   bool
	expired    bool
}

// Store holds the device codes not yet redeemed. It is safe for
// concurrent use.
type Store struct {
	// SlowDownPolls polls of each code are answered slow_down first, then
	// PendingPolls more are answered pending even once it is approved.
	SlowDownPolls, PendingPolls int
	// AutoApprove, if set, approves each code for this UPN at its first
	// pending poll.
	AutoApprove string

	mu    sync.Mutex
	codes map[string]*Code // by device code
}

// Issue stores a new code for clientID in tenant tid, valid until
// expires, and returns it.
func (s *Store) Issue(clientID, tid, resource string, scopes []string, expires time.Time) Code {
	c := &Code{
		DeviceCode: ids.Random(48),
		UserCode:   ids.Random(9),
		ClientID:   clientID,
		TenantID:   tid,
		Resource:   resource,
		Scopes:     scopes,
		Expires:    expires,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.codes == nil {
		s.codes = map[string]*Code{}
	}
	s.codes[c.DeviceCode] = c
	return *c
}

// Approve signs upn in on the code with this user code (any case,
// surrounding space ignored).
func (s *Store) Approve(userCode, upn string) error {
	return s.with(userCode, func(c *Code) { c.ApprovedBy = upn })
}

// Decline declines the sign-in on the code with this user code.
func (s *Store) Decline(userCode string) error {
	return s.with(userCode, func(c *Code) { c.declined = true })
}

// Expire expires the code with this user code.
func (s *Store) Expire(userCode string) error {
	return s.with(userCode, func(c *Code) { c.expired = true })
}

func (s *Store) with(userCode string, f func(*Code)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		if strings.EqualFold(c.UserCode, strings.TrimSpace(userCode)) {
			f(c)
			return nil
		}
	}
	return fmt.Errorf("entratest: no device code with user code %q", userCode)
}

// Pending lists the user codes waiting for a decision at now, sorted.
func (s *Store) Pending(now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.codes {
		if c.ApprovedBy == "" && !c.declined && !c.expired && now.Before(c.Expires) {
			out = append(out, c.UserCode)
		}
	}
	sort.Strings(out)
	return out
}

// Outcome is how a poll of a device code is answered.
type Outcome int

// The answers to a poll.
const (
	// Unknown: no such device code for this client (bad_verification_code).
	Unknown Outcome = iota
	// Expired: the code expired (expired_token); it is gone.
	Expired
	// Declined: the person declined (authorization_declined); it is gone.
	Declined
	// SlowDown: polled too soon (slow_down).
	SlowDown
	// Pending: nobody has signed in yet (authorization_pending).
	Pending
	// Approved: the tokens are issued for Code.ApprovedBy; it is gone.
	Approved
)

// Poll answers a poll of deviceCode by clientID at now, and returns the
// code as it stands. A code auto-approved by this poll is returned with
// its ApprovedBy set and the outcome Pending.
func (s *Store) Poll(deviceCode, clientID string, now time.Time) (Outcome, Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[deviceCode]
	if !ok || !strings.EqualFold(c.ClientID, clientID) {
		return Unknown, Code{}
	}
	c.polls++
	var out Outcome
	switch {
	case c.expired || now.After(c.Expires):
		out = Expired
	case c.declined:
		out = Declined
	case c.polls <= s.SlowDownPolls:
		out = SlowDown
	case c.ApprovedBy != "" && c.polls > s.SlowDownPolls+s.PendingPolls:
		out = Approved
	default:
		out = Pending
		if s.AutoApprove != "" && c.ApprovedBy == "" {
			c.ApprovedBy = s.AutoApprove
		}
	}
	if out != Pending && out != SlowDown {
		delete(s.codes, c.DeviceCode)
	}
	return out, *c
}

// LoginPage writes a minimal stand-in for microsoft.com/devicelogin: msg
// (HTML) and a form that approves a user code for a UPN of domain.
func LoginPage(w io.Writer, msg, domain string) {
	fmt.Fprintf(w, `<!doctype html><title>entratest device login</title>
<h1>entratest: sign in a device</h1><p>%s</p>
<form method="post"><label>Code <input name="code"></label>
<label>User <input name="upn" value="user@%s"></label>
<button>Approve</button></form>`, msg, html.EscapeString(domain))
}
