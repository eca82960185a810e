// Package entraanswer reads Entra ID's error answers: the OAuth error JSON
// (error, error_description, error_codes), the AADSTS code, whether the
// answer is worth retrying and the wait its Retry-After asks for. Package
// token makes its *Error from what it reads; internal/aadstshints says
// what a code means.
package entraanswer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/m365send/m365send/internal/safetext"
)

// Answer is what an error answer says. Its texts come from the network:
// each is one line without terminal controls.
type Answer struct {
	OAuthError  string // the OAuth error ("invalid_client", ...)
	Description string // the first line of error_description, or "HTTP <status>"
	Code        int    // the AADSTS code, or 0
	// Temporary: a 5xx, a 429 or temporarily_unavailable.
	Temporary bool
	// RetryAfter is the wait Retry-After asks for (Temporary answers only),
	// between 0 and MaxRetryAfter.
	RetryAfter time.Duration
}

// oauthBody is Entra ID's error JSON.
type oauthBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d+)`)

// Code returns the AADSTS code a description names ("AADSTS7000215: ..."),
// or 0.
func Code(description string) int {
	if m := aadstsRE.FindStringSubmatch(description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// Read reads an HTTP error answer; err is the error MSAL made of it, if
// any (its text may hold the JSON when MSAL has read the body itself).
func Read(resp *http.Response, err error) Answer {
	var a Answer
	var body oauthBody
	if resp.Body != nil {
		if data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<16)); rerr == nil {
			_ = json.Unmarshal(data, &body)
		}
	}
	if body.Error == "" && err != nil {
		// MSAL reads the body itself while polling a device code; its
		// error text still holds the JSON after the status line.
		msg := err.Error()
		if i := strings.Index(msg, "{"); i >= 0 {
			_ = json.NewDecoder(strings.NewReader(msg[i:])).Decode(&body)
		}
	}
	// Both come from the network: one line, no terminal controls.
	a.OAuthError = safetext.OneLine(body.Error)
	a.Description = safetext.OneLine(firstLine(body.ErrorDescription))
	if len(body.ErrorCodes) > 0 {
		a.Code = body.ErrorCodes[0]
	} else {
		a.Code = Code(body.ErrorDescription)
	}
	status := resp.StatusCode
	a.Temporary = status >= 500 || status == http.StatusTooManyRequests || body.Error == "temporarily_unavailable"
	if a.Temporary {
		a.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"))
	}
	if a.Description == "" && a.OAuthError == "" {
		a.Description = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	}
	return a
}

// MaxRetryAfter caps a Retry-After: longer waits are reported as this.
const MaxRetryAfter = 24 * time.Hour

// RetryAfter reads a Retry-After header (seconds or an HTTP date), as a
// wait between 0 and MaxRetryAfter; 0 when there is none or it is bad.
func RetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case secs < 0:
			return 0
		case secs > int64(MaxRetryAfter/time.Second):
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), MaxRetryAfter)
	}
	return 0
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
