package entraanswer

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Retry-After is never negative and never more than MaxRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "3600", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "-1", "9223372036854775807", " 5 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d := RetryAfter(v); d < 0 || d > MaxRetryAfter {
			t.Fatalf("RetryAfter(%q) = %v", v, d)
		}
	})
}

func TestRead(t *testing.T) {
	for _, c := range []struct {
		status     int
		body       string
		retryAfter string
		want       Answer
	}{
		{400, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: 1","error_codes":[7000215]}`, "",
			Answer{OAuthError: "invalid_client", Description: "AADSTS7000215: Invalid client secret.", Code: 7000215}},
		{503, `{"error":"temporarily_unavailable","error_description":"AADSTS50196: loop"}`, "120",
			Answer{OAuthError: "temporarily_unavailable", Description: "AADSTS50196: loop", Code: 50196, Temporary: true, RetryAfter: 120e9}},
		{502, `<html>bad gateway</html>`, "",
			Answer{Description: "HTTP 502 Bad Gateway", Temporary: true}},
		{400, `{"error":"invalid_request\r\nX-Injected: 1"}`, "60",
			Answer{OAuthError: "invalid_request X-Injected: 1"}},
	} {
		resp := &http.Response{StatusCode: c.status, Header: http.Header{"Retry-After": {c.retryAfter}}, Body: io.NopCloser(strings.NewReader(c.body))}
		if got := Read(resp, nil); got != c.want {
			t.Errorf("Read(%d %s) = %+v, want %+v", c.status, c.body, got, c.want)
		}
	}
}
