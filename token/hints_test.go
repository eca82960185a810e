package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/token/entratest"
)

// entraAnswer is an Entra ID error answer with the given code, as the
// token endpoint sends it.
func entraAnswer(t *testing.T, oauth string, code int, meaning string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"error":             oauth,
		"error_description": fmt.Sprintf("AADSTS%d: %s.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-01-01 00:00:00Z", code, meaning),
		"error_codes":       []int{code},
		"trace_id":          "0000",
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every row of the AADSTS table, answered by the token endpoint, comes
// back through the real classifier (MSAL, wrapErr, fromResponse) with the
// row's kind and hint; a row that needs a sign-in does so on a silent
// request.
func TestAADSTSHintsTable(t *testing.T) {
	rows := AADSTSHints()
	if len(rows) < 16 {
		t.Fatalf("%d rows", len(rows))
	}
	seenCode := map[int]bool{}
	seenHint := map[string]int{}
	for _, row := range rows {
		t.Run(fmt.Sprintf("AADSTS%d", row.Code), func(t *testing.T) {
			if seenCode[row.Code] {
				t.Fatal("code listed twice")
			}
			seenCode[row.Code] = true
			if row.Meaning == "" || row.Hint == "" {
				t.Fatalf("row %+v lacks a meaning or hint", row)
			}
			if prev, dup := seenHint[row.Hint]; dup {
				t.Errorf("hint shared with AADSTS%d", prev)
			}
			seenHint[row.Hint] = row.Code
			if strings.Contains(row.Hint, "m365send") || strings.Contains(row.Hint, "--") {
				t.Errorf("hint names the command line: %q", row.Hint)
			}
			oauth := "invalid_grant"
			if row.Kind == failure.Config {
				oauth = "invalid_request"
			}

			a := newAuthority(t, entratest.Options{})
			a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: 400, Body: entraAnswer(t, oauth, row.Code, row.Meaning)})
			_, err := mustNew(t, appConfig(t, a)).TokenContext(context.Background())
			var te *Error
			if !errors.As(err, &te) || te.Code != row.Code {
				t.Fatalf("err = %v, want an *Error with AADSTS%d", err, row.Code)
			}
			if got := failure.KindOf(err); got != row.Kind {
				t.Errorf("kind = %v, want %v", got, row.Kind)
			}
			if got := failure.HintOf(err); got != row.Hint {
				t.Errorf("hint = %q, want %q", got, row.Hint)
			}
			if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("AADSTS%d", row.Code)) || strings.ContainsAny(msg, "\r\n") {
				t.Errorf("Error() = %q, want one line with the code", msg)
			}
			if errors.Is(err, ErrLoginRequired) {
				t.Error("a client-credentials failure asks for a sign-in")
			}

			// The same answer to a silent (refresh token) request.
			cfg := userConfig(t, a)
			cfg.DeviceCodePrompt = approvingPrompt(t, a, testUser, nil)
			if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
				t.Fatal(err)
			}
			a.InjectFault(entratest.Fault{Endpoint: entratest.EndpointToken, Status: 400, Body: entraAnswer(t, oauth, row.Code, row.Meaning)})
			_, err = mustNew(t, cfg).Refresh(context.Background())
			if got := errors.Is(err, ErrLoginRequired); got != row.SignIn {
				t.Errorf("silent request: login required = %v, want %v (err %v)", got, row.SignIn, err)
			}
			wantKind := row.Kind
			if row.SignIn {
				wantKind = failure.SignIn
			}
			if got := failure.KindOf(err); got != wantKind {
				t.Errorf("silent request: kind = %v, want %v", got, wantKind)
			}
			if got := failure.HintOf(err); got != row.Hint {
				t.Errorf("silent request: hint = %q, want %q", got, row.Hint)
			}
		})
	}
}

func TestLoginRequiredIsSignIn(t *testing.T) {
	a := newAuthority(t, entratest.Options{})
	_, err := mustNew(t, userConfig(t, a)).TokenContext(context.Background())
	if !errors.Is(err, ErrLoginRequired) || failure.KindOf(err) != failure.SignIn || failure.HintOf(err) != signInHint {
		t.Fatalf("err = %v (kind %v, hint %q), want ErrLoginRequired, sign-in, with a hint", err, failure.KindOf(err), failure.HintOf(err))
	}
	if strings.Contains(err.Error(), "m365send") {
		t.Errorf("error names the command: %q", err)
	}
}

func TestCacheErrorIsConfig(t *testing.T) {
	cfg := appConfig(t, newAuthority(t, entratest.Options{}))
	cfg.CacheFile = "/proc/nope/m365send/x.json"
	_, err := mustNew(t, cfg).TokenContext(context.Background())
	if failure.KindOf(err) != failure.Config || failure.HintOf(err) == "" {
		t.Fatalf("err = %v (kind %v, hint %q), want config with a hint", err, failure.KindOf(err), failure.HintOf(err))
	}
}
