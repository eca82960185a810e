package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/m365send/m365send/token/entratest"
)

// result of a call made in a goroutine.
type callResult struct{ err error }

// within waits for a call the test expects to end by itself; the limit
// only stops a broken implementation from hanging the test.
func within(t *testing.T, done <-chan callResult, what string) error {
	t.Helper()
	select {
	case r := <-done:
		return r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s ignored its context and is still waiting", what)
		return nil
	}
}

func TestDefaultHTTPClientHasATimeout(t *testing.T) {
	cfg := appConfig(t, newAuthority(t, entratest.Options{}))
	cfg.HTTPClient = nil
	s := mustNew(t, cfg)
	if got := s.cfg.HTTPClient.Timeout; got != DefaultHTTPTimeout || got <= 0 {
		t.Fatalf("default client timeout = %v, want %v", got, DefaultHTTPTimeout)
	}
}

// A caller waiting for another process's file lock gives up when its ctx
// ends.
func TestTokenContextStopsWaitingForTheFileLock(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	s := mustNew(t, cfg)
	if err := s.store.Prepare(); err != nil {
		t.Fatal(err)
	}
	held, err := testLock(context.Background(), s.store.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan callResult, 1)
	go func() {
		_, err := s.TokenContext(ctx)
		done <- callResult{err}
	}()
	if err := within(t, done, "TokenContext"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if n := a.Requests(entratest.EndpointToken, ""); n != 0 {
		t.Errorf("%d token requests while the lock was held", n)
	}
	// Once the lock is free the same Source works.
	held.Unlock()
	if _, err := s.TokenContext(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A caller of a Source that is busy with a device-code sign-in gives up
// when its ctx ends, instead of waiting for the person.
func TestTokenContextStopsWaitingBehindALogin(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := userConfig(t, a)
	shown := make(chan DeviceCode, 1)
	cfg.DeviceCodePrompt = func(_ context.Context, dc DeviceCode) error {
		shown <- dc
		return nil
	}
	s := mustNew(t, cfg)
	loginDone := make(chan callResult, 1)
	go func() {
		_, err := s.Login(context.Background())
		loginDone <- callResult{err}
	}()
	var dc DeviceCode
	select {
	case dc = <-shown:
	case r := <-loginDone:
		t.Fatalf("Login ended before showing a code: %v", r.err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan callResult, 1)
	go func() {
		_, err := s.TokenContext(ctx)
		done <- callResult{err}
	}()
	err := within(t, done, "TokenContext")
	if err2 := a.ApproveDeviceCode(dc.UserCode, testUser); err2 != nil {
		t.Fatal(err2)
	}
	if lerr := within(t, loginDone, "Login"); lerr != nil {
		t.Fatalf("Login: %v", lerr)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TokenContext during a sign-in: err = %v, want context.DeadlineExceeded", err)
	}
}
