package queue

import "github.com/m365send/m365send/queue/retry"

// Policy is the retry schedule (see queue/retry): capped exponential
// backoff with jitter, with waits of their own for Exchange Online's "too
// busy" and quota replies. Zero fields take the defaults.
type Policy = retry.Policy

// Verdict is what a failed try means for the message (Policy.Judge).
type Verdict = retry.Verdict

// Defaults of Policy.
const (
	DefaultFirstWait = retry.DefaultFirstWait // after the first failed try
	DefaultMaxWait   = retry.DefaultMaxWait   // the cap of the doubling
	DefaultBusyWait  = retry.DefaultBusyWait  // after 432 4.3.2 or a rate reply
	DefaultQuotaWait = retry.DefaultQuotaWait // after the sending quota is reached
	DefaultRetryFor  = retry.DefaultRetryFor
)
