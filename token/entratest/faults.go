package entratest

import (
	"strings"
	"time"

	"github.com/m365send/m365send/token/entratest/internal/fault"
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
func (a *Authority) InjectFault(f Fault) { a.faults.Add(fault.Fault(f)) }

// ClearFaults removes every queued fault and every FailClient setting.
func (a *Authority) ClearFaults() {
	a.faults.Clear()
	a.mu.Lock()
	defer a.mu.Unlock()
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
