package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m365send/m365send/internal/aadstshints"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/token/entratest"
)

// factsCodes are the AADSTS codes of docs/microsoft.md's Entra ID table.
var factsCodes = []int{7000215, 7000222, 700027, 700016, 90002, 90038, 65001, 70011, 700022,
	50076, 50079, 53003, 530035, 700082, 50173, 9001023}

func TestEveryFactsCodeGivesItsOwnHint(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	seen := map[string]int{}
	for _, code := range factsCodes {
		t.Run(fmt.Sprintf("AADSTS%d", code), func(t *testing.T) {
			a.FailClient(testClientID, code)
			defer a.FailClient(testClientID, 0)
			_, err := mustNew(t, appConfig(t, a)).TokenContext(context.Background())
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if te.Code != code {
				t.Errorf("Code = %d, want %d", te.Code, code)
			}
			if te.Hint() == "" {
				t.Fatal("no hint")
			}
			if prev, dup := seen[te.Hint()]; dup {
				t.Errorf("hint shared with AADSTS%d: %q", prev, te.Hint())
			}
			seen[te.Hint()] = code
			msg := te.Error()
			if !strings.Contains(msg, fmt.Sprintf("AADSTS%d", code)) || strings.ContainsAny(msg, "\r\n") {
				t.Errorf("Error() = %q, want one line with the code", msg)
			}
			if strings.Contains(msg, testSecret) || strings.Contains(fmt.Sprint(err), testSecret) {
				t.Fatal("the secret appears in the error")
			}
			if te.OAuthError == "" || te.Temporary {
				t.Errorf("OAuthError %q Temporary %v", te.OAuthError, te.Temporary)
			}
		})
	}
}

func TestWrongSecretIsAADSTS7000215(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.ClientSecret = "wrong-secret-value"
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Code != 7000215 || te.OAuthError != "invalid_client" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatal("secret in error")
	}
}

func TestUnknownTenantIsAADSTS90002(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.Tenant = "fabrikam.onmicrosoft.com"
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Code != 90002 || te.Hint() != aadstshints.For(90002).Hint {
		t.Fatalf("err = %v", err)
	}
}

// fakeSleep records waits instead of sleeping.
type fakeSleep struct{ waits []time.Duration }

func (f *fakeSleep) sleep(_ context.Context, d time.Duration) error {
	f.waits = append(f.waits, d)
	return nil
}

func TestTemporaryFailuresAreRetried(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault entratest.Fault
		wait  time.Duration
	}{
		{"503", entratest.Fault{Endpoint: entratest.EndpointToken, Status: 503}, 500 * time.Millisecond},
		{"429 Retry-After", entratest.Fault{Endpoint: entratest.EndpointToken, Status: 429, RetryAfter: 3 * time.Second}, 3 * time.Second},
		{"dropped connection", entratest.Fault{Endpoint: entratest.EndpointToken, Drop: true}, 500 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAuthority(t, entratest.Options{})
			a.InjectFault(c.fault)
			s := mustNew(t, appConfig(t, a))
			fs := &fakeSleep{}
			s.sleep = fs.sleep
			tok, err := s.TokenContext(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Verify(tok.AccessToken, testMailbox); err != nil {
				t.Fatal(err)
			}
			if got := a.Requests(entratest.EndpointToken, ""); got != 2 {
				t.Errorf("token requests = %d, want 2", got)
			}
			if len(fs.waits) != 1 || fs.waits[0] != c.wait {
				t.Errorf("waits = %v, want [%v]", fs.waits, c.wait)
			}
		})
	}
}

func TestPersistentServerErrorIsTemporaryError(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: 500, Times: -1})
	s := mustNew(t, appConfig(t, a))
	s.sleep = (&fakeSleep{}).sleep
	_, err := s.TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || !te.Temporary || te.Hint() == "" {
		t.Fatalf("err = %#v, want a temporary *Error", err)
	}
	if got := a.Requests(entratest.EndpointToken, ""); got != maxAttempts {
		t.Errorf("token requests = %d, want %d", got, maxAttempts)
	}
}

func TestLongRetryAfterIsReportedNotWaited(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: 429, RetryAfter: time.Minute})
	s := mustNew(t, appConfig(t, a))
	fs := &fakeSleep{}
	s.sleep = fs.sleep
	_, err := s.TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || !te.Temporary || te.RetryAfter != time.Minute {
		t.Fatalf("err = %#v, want temporary with RetryAfter 1m", err)
	}
	if len(fs.waits) != 0 {
		t.Errorf("waited %v", fs.waits)
	}
}

func TestSlowAuthorityHonoursDeadline(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := mustNew(t, appConfig(t, a)).TokenContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestMalformedAnswerKeepsItsContentOutOfTheError(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Times: maxAttempts,
		Body: []byte(`{"token_type":"Bearer","access_token":"LEAKED-TOKEN-VALUE","expires_in":`)})
	s := mustNew(t, appConfig(t, a))
	s.sleep = (&fakeSleep{}).sleep
	_, err := s.TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || !te.Temporary {
		t.Fatalf("err = %v, want a temporary *Error", err)
	}
	for e := error(err); e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), "LEAKED-TOKEN-VALUE") {
			t.Fatalf("answer content in the error chain: %q", e.Error())
		}
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want failure.Kind
	}{
		{&Error{OAuthError: "invalid_client", Code: 7000215}, failure.Config},
		{&Error{OAuthError: "invalid_grant", Code: 700016}, failure.Config},
		{&Error{OAuthError: "invalid_request", Code: 53003}, failure.Permission},
		{&Error{OAuthError: "invalid_grant"}, failure.Permission},
		{&Error{OAuthError: "invalid_request", Code: 9002313}, failure.Config},
		{&Error{OAuthError: "invalid_client", Err: ErrLoginRequired}, failure.SignIn},
		{&Error{OAuthError: "invalid_client", Code: 7000215, Temporary: true}, failure.Temporary},
		{&Error{OAuthError: "slow_down"}, failure.Temporary},
		{&Error{Err: fmt.Errorf("x: %w", context.DeadlineExceeded)}, failure.Temporary},
		{&Error{OAuthError: "weird", Code: 1}, failure.Unavailable},
	} {
		if got := tc.err.Kind(); got != tc.want {
			t.Errorf("%+v: Kind = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestKindOfARealAnswer(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	cfg := appConfig(t, a)
	cfg.ClientSecret = "wrong-secret-value"
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	var te *Error
	if !errors.As(err, &te) || te.Kind() != failure.Config {
		t.Fatalf("err = %v, want a failure.Config *Error", err)
	}
}
