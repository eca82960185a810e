package entratest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/wait"
	"github.com/m365send/m365send/token/entratest/internal/aadsts"
)

// Fault makes the authority misbehave on the next matching requests.
type Fault struct {
	// Endpoint is the endpoint the fault applies to (EndpointToken,
	// EndpointDeviceCode, EndpointOpenIDConfiguration); "" matches all.
	Endpoint string
	// Status, if not 0, is the HTTP status to answer with (500, 503, 429,
	// ...), with an Entra-style error body.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header (whole seconds).
	RetryAfter time.Duration
	// Delay holds the answer back this long (or until the client gives up).
	// With Status 0 and Drop false the request is then served normally.
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Body, if not nil, is sent as the raw answer (with Status, default
	// 200), for malformed answers.
	Body []byte
	// Times is how many requests the fault applies to (0 means 1, a
	// negative number means every request until ClearFaults).
	Times int
}

// InjectFault queues a fault. Faults apply in the order they were injected.
func (a *Authority) InjectFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, &f)
}

// ClearFaults removes every queued fault and every FailClient setting.
func (a *Authority) ClearFaults() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = nil
	clear(a.failClients)
}

// FailClient makes every token request of clientID fail with the OAuth
// error Entra ID sends for the AADSTS code (for example 7000222 for an
// expired secret). A code of 0 removes the failure.
func (a *Authority) FailClient(clientID string, aadstsCode int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if aadstsCode == 0 {
		delete(a.failClients, strings.ToLower(clientID))
		return
	}
	a.failClients[strings.ToLower(clientID)] = aadstsCode
}

func (a *Authority) failureFor(clientID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failClients[strings.ToLower(clientID)]
}

// takeFault returns the first fault matching endpoint and uses it up once.
func (a *Authority) takeFault(endpoint string) *Fault {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, f := range a.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		cp := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				a.faults = append(a.faults[:i:i], a.faults[i+1:]...)
			}
		}
		return &cp
	}
	return nil
}

// applyFault misbehaves as f says; it reports whether the request has been
// answered (or dropped).
func (a *Authority) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
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
		writeBody(w, f.Body)
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
