// Package deliveryerr is a delivery failure as the queue (package queue)
// keeps it with a message and its recipients: the SMTP reply or network
// error in one line, its failure kind and hint, and its JSON form in the
// spool's files and the PostgreSQL queue's rows.
package deliveryerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// Failure is a stored delivery failure: what the server or network said,
// its kind and what to do. It is an error with Kind and Hint, so
// failure.KindOf and failure.HintOf work on it.
type Failure struct {
	// Category is what the failure calls for; the Kind method returns it
	// (a field cannot share the method's name).
	Category failure.Kind `json:"-"`
	// Code is the SMTP reply code, or 0 for a network or local failure.
	Code int `json:"code,omitempty"`
	// Enhanced is the enhanced status code ("5.7.60"), or "".
	Enhanced string `json:"enhanced,omitempty"`
	// Text is one line describing the failure (no secrets).
	Text string `json:"text"`
	// Advice is one line saying what to do, or "".
	Advice string `json:"hint,omitempty"`
}

// Error returns "code enhanced text", or Text alone.
func (f *Failure) Error() string {
	var b strings.Builder
	if f.Code != 0 {
		fmt.Fprintf(&b, "%d ", f.Code)
		if f.Enhanced != "" {
			b.WriteString(f.Enhanced + " ")
		}
	}
	b.WriteString(f.Text)
	return b.String()
}

// Kind returns Category (for failure.KindOf).
func (f *Failure) Kind() failure.Kind { return f.Category }

// Hint returns Advice (for failure.HintOf).
func (f *Failure) Hint() string { return f.Advice }

// failureJSON carries Kind as its name, so the files and rows stay
// readable and survive a change of failure.Kind's numbering.
type failureJSON struct {
	Kind string `json:"kind"`
	fj
}

type fj Failure

// MarshalJSON writes Kind as its name.
func (f *Failure) MarshalJSON() ([]byte, error) {
	return json.Marshal(failureJSON{Kind: f.Category.String(), fj: fj(*f)})
}

// UnmarshalJSON reads what MarshalJSON wrote; an unknown kind is Internal.
func (f *Failure) UnmarshalJSON(b []byte) error {
	var v failureJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Failure(v.fj)
	f.Category = failure.Internal
	for _, k := range failure.Kinds() {
		if k.String() == v.Kind {
			f.Category = k
		}
	}
	return nil
}

// Of describes err for storage: the SMTP reply of a *sender.Error,
// the kind and hint along err's chain. The text is err's one-line text.
func Of(err error) *Failure {
	if err == nil {
		return nil
	}
	var f *Failure
	if errors.As(err, &f) {
		c := *f
		return &c
	}
	out := &Failure{Category: failure.KindOf(err), Text: OneLine(err.Error()), Advice: failure.HintOf(err)}
	var se *sender.Error
	if errors.As(err, &se) {
		out.Code, out.Enhanced = se.Code, se.EnhancedCode
		if se.Code != 0 {
			out.Text = OneLine(se.Text)
		}
	}
	return out
}

// OneLine makes s one line of at most 1000 bytes with no control
// characters, for files, logs and DSNs.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			if !strings.HasSuffix(b.String(), "; ") {
				b.WriteString("; ")
			}
		case r < 0x20 || r == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
		if b.Len() >= 1000 {
			break
		}
	}
	return b.String()
}
