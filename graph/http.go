package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/sender"
)

// request is one Graph request and what do learned about it.
type request struct {
	op          string
	method, url string
	contentType string
	body        []byte
	header      map[string]string // extra headers (Content-Range)
	auth        bool              // send the bearer token (not to upload URLs, which carry their own)
	once        bool              // one try only (the message may have gone out before)
	want        int               // the success status; 0: any 2xx

	// uncertain is set when a try's answer was lost after the request
	// was written: the request may have taken effect.
	uncertain bool
}

// maxAnswer bounds the answer body read.
const maxAnswer = 1 << 20

// do sends r, trying again after temporary failures (honouring
// Retry-After) and once with a fresh token after a 401. It returns the
// answer's body.
func (s *Sender) do(ctx context.Context, r *request) ([]byte, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		body, e := s.try(ctx, r, refreshed)
		if e == nil {
			return body, nil
		}
		if e.Status == http.StatusUnauthorized && r.auth && !refreshed {
			if rf, ok := s.cfg.Tokens.(sender.Refresher); ok {
				refreshed = true
				if _, err := rf.Refresh(ctx); err != nil {
					return nil, &Error{Mailbox: s.cfg.Mailbox, Op: OpToken, Err: err}
				}
				attempt--
				continue
			}
		}
		if !e.temporary() || attempt >= s.cfg.MaxAttempts || r.once || (r.uncertain && attempt >= 2) || ctx.Err() != nil {
			return nil, e
		}
		d := e.RetryAfter
		if d <= 0 {
			d = s.backoff(attempt)
		}
		if d > s.cfg.MaxRetryWait {
			return nil, e
		}
		s.log.Info("Graph failed for now; trying again", "op", r.op, "attempt", attempt, "wait", d, "error", e.Error())
		if err := s.sleep(ctx, d); err != nil {
			return nil, e
		}
	}
}

// try makes one request, holding one of the mailbox's request slots.
func (s *Sender) try(ctx context.Context, r *request, fresh bool) ([]byte, *Error) {
	fail := func(status int, err error) *Error {
		return &Error{Mailbox: s.cfg.Mailbox, Op: r.op, Status: status, Err: err}
	}
	var bearer string
	if r.auth {
		tok, err := s.token(ctx)
		if err != nil {
			return nil, &Error{Mailbox: s.cfg.Mailbox, Op: OpToken, Err: err}
		}
		bearer = tok.AccessToken
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return nil, fail(0, fmt.Errorf("make request: %w", scrub(err)))
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fail(0, ctx.Err())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		<-s.slots
		if r.method != http.MethodGet && ctx.Err() == nil {
			r.uncertain = true
		}
		return nil, fail(0, fmt.Errorf("%w: %w", errNoAnswer, scrub(err)))
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_ = resp.Body.Close()
	<-s.slots
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if r.want != 0 {
		ok = resp.StatusCode == r.want
	}
	if ok {
		if rerr != nil {
			return nil, fail(0, fmt.Errorf("read answer: %w", scrub(rerr)))
		}
		return body, nil
	}
	e := &Error{Mailbox: s.cfg.Mailbox, Op: r.op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var answer struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &answer) == nil {
		e.Code, e.Message = answer.Error.Code, oneLine(answer.Error.Message)
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return nil, e
}

// token asks the token source, under ctx when it can.
func (s *Sender) token(ctx context.Context) (*oauth2.Token, error) {
	if cts, ok := s.cfg.Tokens.(sender.ContextTokenSource); ok {
		return cts.TokenContext(ctx)
	}
	return s.cfg.Tokens.Token()
}

// scrub drops the URL from a *url.Error: an upload URL carries a token.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// oneLine keeps the first line of s, at most 300 bytes.
func oneLine(s string) string {
	if i := bytes.IndexAny([]byte(s), "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
