// Package fault is how the fake Entra ID (token/entratest) misbehaves
// when a test asks it to: a queue of faults, each for an endpoint and a
// number of requests, and what one does to the request it meets (delay
// it, drop the connection, answer an error status or a raw body).
package fault

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/m365send/m365send/internal/wait"
	"github.com/m365send/m365send/token/entratest/internal/aadsts"
)

// Fault is one misbehaviour; its fields are those of entratest.Fault,
// which documents them.
type Fault struct {
	Endpoint   string
	Status     int
	RetryAfter time.Duration
	Delay      time.Duration
	Drop       bool
	Body       []byte
	Times      int
}

// Queue holds the faults not yet used up, in the order they were added.
// It is safe for concurrent use; the zero value is ready.
type Queue struct {
	mu     sync.Mutex
	faults []*Fault
}

// Add queues f (Times 0 means once, a negative Times for ever).
func (q *Queue) Add(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = append(q.faults, &f)
}

// Clear removes every queued fault.
func (q *Queue) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = nil
}

// Take returns the first fault matching endpoint and uses it up once, or
// nil.
func (q *Queue) Take(endpoint string) *Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, f := range q.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		cp := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				q.faults = append(q.faults[:i:i], q.faults[i+1:]...)
			}
		}
		return &cp
	}
	return nil
}

// Apply misbehaves as f says, answering an error status with Entra ID's
// error body through writeJSON; it reports whether the request has been
// answered (or dropped).
func (f *Fault) Apply(w http.ResponseWriter, r *http.Request, writeJSON func(http.ResponseWriter, int, any)) bool {
	if f.Delay > 0 {
		if err := wait.Sleep(r.Context(), f.Delay); err != nil {
			return true
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		// HTTP/2 cannot be hijacked: abort the stream instead.
		panic(http.ErrAbortHandler)
	}
	if f.Body != nil {
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(f.Body)
		return true
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	code := 90033
	if f.Status == http.StatusTooManyRequests {
		code = 50196
	}
	_, body := aadsts.Response(code)
	if f.Status < 500 && f.Status != http.StatusTooManyRequests {
		body["error"] = "invalid_request"
	}
	writeJSON(w, f.Status, body)
	return true
}
