package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/m365send/m365send/graph"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/sendmail"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

func TestExitCodeFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"usage", &usageError{msg: "unknown flag"}, 64},
		{"sendmail usage", &sendmail.UsageError{Msg: "-bd"}, 64},
		{"sendmail bad message", &sendmail.MessageError{Msg: "no recipients"}, 65},
		{"command's own data error", &exitError{kind: failure.BadMessage, msg: "x"}, 65},
		{"command's own config error", &exitError{kind: failure.Config, msg: "x"}, 78},
		{"inferred flow needs a sign-in", (&session.Session{Profile: &config.Profile{FlowInferred: true}}).Explain(token.ErrLoginRequired), 77},
		{"config", &config.Error{Msg: "bad"}, 78},
		{"sender's invalid message", (&sender.Message{From: "a@example.com"}).Validate(), 65},
		{"wrapped config", fmt.Errorf("load: %w", &config.Error{Msg: "bad"}), 78},
		{"login required", token.ErrLoginRequired, 77},
		{"login required wrapped in a token error", &token.Error{Err: token.ErrLoginRequired}, 77},
		{"login required at the sender's token stage", &sender.Error{Stage: sender.StageToken, Err: token.ErrLoginRequired}, 77},
		{"AADSTS7000215 wrong secret", &token.Error{OAuthError: "invalid_client", Code: 7000215}, 78},
		{"AADSTS700027 wrong certificate", &token.Error{OAuthError: "invalid_client", Code: 700027}, 78},
		{"AADSTS700016 app not found", &token.Error{OAuthError: "unauthorized_client", Code: 700016}, 78},
		{"AADSTS90002 tenant not found", &token.Error{OAuthError: "invalid_request", Code: 90002}, 78},
		{"AADSTS65001 consent", &token.Error{OAuthError: "invalid_grant", Code: 65001}, 77},
		{"AADSTS53003 conditional access", &token.Error{OAuthError: "invalid_grant", Code: 53003}, 77},
		{"AADSTS50076 MFA", &token.Error{OAuthError: "invalid_grant", Code: 50076}, 77},
		{"AADSTS700082 refresh expired", &token.Error{OAuthError: "invalid_grant", Code: 700082}, 77},
		{"unknown invalid_grant", &token.Error{OAuthError: "invalid_grant"}, 77},
		{"unknown invalid_client", &token.Error{OAuthError: "invalid_client"}, 78},
		{"Entra ID 503", &token.Error{OAuthError: "temporarily_unavailable", Temporary: true}, 75},
		{"token network error", &token.Error{Temporary: true, Err: errors.New("dial tcp: refused")}, 75},
		{"token error at the sender's token stage", &sender.Error{Stage: sender.StageToken, Err: &token.Error{Code: 7000215}}, 78},
		{"unclassified token error", &token.Error{OAuthError: "weird"}, 69},
		{"535 5.7.3", &sender.Error{Stage: sender.StageAuth, Code: 535, EnhancedCode: "5.7.3"}, 77},
		{"535 5.7.139", &sender.Error{Stage: sender.StageAuth, Code: 535, EnhancedCode: "5.7.139"}, 77},
		{"550 5.7.60 send as", &sender.Error{Stage: sender.StageMail, Code: 550, EnhancedCode: "5.7.60"}, 77},
		{"554 5.2.252 SendAsDenied", &sender.Error{Stage: sender.StageData, Code: 554, EnhancedCode: "5.2.252"}, 77},
		{"530 not authenticated", &sender.Error{Stage: sender.StageMail, Code: 530, EnhancedCode: "5.7.57"}, 77},
		{"432 4.3.2 concurrency", &sender.Error{Stage: sender.StageAuth, Code: 432, EnhancedCode: "4.3.2", Temporary: true}, 75},
		{"451 4.7.0", &sender.Error{Stage: sender.StageData, Code: 451, EnhancedCode: "4.7.0"}, 75},
		{"network", &sender.Error{Stage: sender.StageConnect, Temporary: true}, 75},
		{"daily quota", &sender.Error{Stage: sender.StageData, Code: 554, EnhancedCode: "5.2.0", Text: "STOREDRV.Submission.Exception:SubmissionQuotaExceededException"}, 75},
		{"550 5.1.1 unknown recipient", &sender.Error{Stage: sender.StageRcpt, Code: 550, EnhancedCode: "5.1.1"}, 65},
		{"552 5.3.4 too big", &sender.Error{Stage: sender.StageData, Code: 552, EnhancedCode: "5.3.4"}, 65},
		{"554 5.2.2 mailbox full", &sender.Error{Stage: sender.StageData, Code: 554, EnhancedCode: "5.2.2"}, 69},
		{"sender config (port 465)", &sender.Error{Stage: sender.StageConfig}, 78},
		{"token cache not private, met by the sender", &sender.Error{Stage: sender.StageToken, Err: fmt.Errorf("get token: %w",
			&token.CacheError{Path: "/c/p.json", Advice: "chmod 600 /c/p.json", Err: fmt.Errorf("%w: /c/p.json can be read by others", token.ErrInsecureCache)})}, 78},
		{"token cache folder cannot be made", &token.CacheError{Path: "/proc/nope", Err: errors.New("create token cache folder: mkdir /proc/nope: no such file or directory")}, 78},
		{"canceled", context.Canceled, 75},
		{"deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), 75},
		{"anything else", errors.New("boom"), 70},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitCodeFor(tc.err); got != tc.want {
				t.Errorf("exitCodeFor = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestPrintError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"with hint", &config.Error{File: "/c.toml", Line: 4, Key: "profiles.a.smtp_port", Msg: "port 465 (implicit TLS) is not supported", Advice: "Office 365 doesn't support 465; use 587 STARTTLS"},
			"m365send: /c.toml:4: profiles.a.smtp_port: port 465 (implicit TLS) is not supported\n  hint: Office 365 doesn't support 465; use 587 STARTTLS\n"},
		{"without hint", errors.New("boom"), "m365send: boom\n"},
		{"multi-line text on one line", &exitError{kind: failure.Unavailable, msg: "AADSTS1: bad\r\nTrace ID: x\r\n", hint: "do\nthis"},
			"m365send: AADSTS1: bad Trace ID: x\n  hint: do this\n"},
		{"terminal controls from a server", &sender.Error{Server: "h:587", Stage: sender.StageData, Code: 451, EnhancedCode: "4.3.0",
			Text: "busy\x1b]0;owned\x07\x1b[2J\rnow"},
			"m365send: h:587: data: 451 4.3.0 busy ]0;owned [2J now\n  hint: " + (&sender.Error{Code: 451, EnhancedCode: "4.3.0"}).Hint() + "\n"},
		{"terminal controls in a hint", &exitError{kind: failure.Unavailable, msg: "x", hint: "try\x1b[31m later\a"}, "m365send: x\n  hint: try [31m later\n"},
		{"token failure met by the sender", &sender.Error{Stage: sender.StageToken, Err: fmt.Errorf("get token: %w", token.ErrLoginRequired)},
			"m365send: sign-in required: this profile has no usable sign-in\n  hint: " + failure.HintOf(token.ErrLoginRequired) + "; run `m365send login`\n"},
		{"token cache met by the sender", &sender.Error{Stage: sender.StageToken, Server: "127.0.0.1:587", Err: fmt.Errorf("get token: %w",
			&token.CacheError{Path: "/c/p.json", Advice: "chmod 600 /c/p.json", Err: fmt.Errorf("%w: /c/p.json can be read by others (mode 0644)", token.ErrInsecureCache)})},
			"m365send: token cache is not private: /c/p.json can be read by others (mode 0644)\n  hint: chmod 600 /c/p.json\n"},
		{"hint from a wrapped error", fmt.Errorf("send: %w", &usageError{msg: "x", hint: "see help"}), "m365send: send: x\n  hint: see help\n"},
		{"advice alone", failure.New(failure.SignIn, "sign in", ""), "m365send: sign in\n  hint: run `m365send login`\n"},
		{"interrupted", fmt.Errorf("send: %w", context.Canceled), "m365send: send: context canceled\n  hint: interrupted; nothing more was sent\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			reporter{prog: "m365send"}.print(&b, tc.err)
			if b.String() != tc.want {
				t.Errorf("printError wrote %q, want %q", b.String(), tc.want)
			}
			if n := strings.Count(b.String(), "\n"); n > 2 {
				t.Errorf("%d lines, want at most 2", n)
			}
		})
	}
}

// TestExitCodes checks the one table from kind to exit status.
func TestExitCodes(t *testing.T) {
	want := map[failure.Kind]int{
		failure.Usage: 64, failure.BadMessage: 65, failure.BadAddress: 65, failure.Unavailable: 69,
		failure.Internal: 70, failure.Temporary: 75, failure.Quota: 75, failure.Permission: 77,
		failure.SignIn: 77, failure.Config: 78,
	}
	for _, k := range failure.Kinds() {
		if got := exitCodeFor(failure.New(k, "x", "")); got != want[k] {
			t.Errorf("kind %s: exit %d, want %d", k, got, want[k])
		}
	}
	if len(exitCodes()) != len(failure.Kinds()) {
		t.Errorf("the table has %d rows for %d kinds", len(exitCodes()), len(failure.Kinds()))
	}
}

// TestAdvice checks the command's advice per kind: m365send's names its
// flags, sendmail's speaks to sendmail's callers and names none.
func TestAdvice(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  reporter
		err  error
		want string
	}{
		{"sign-in", reporter{prog: "m365send", profile: "me"}, failure.New(failure.SignIn, "x", "the refresh token expired"),
			"the refresh token expired; run `m365send login --profile me`"},
		{"sign-in, odd profile name", reporter{prog: "m365send", profile: "a b"}, failure.New(failure.SignIn, "x", ""),
			"run `m365send login --profile 'a b'`"},
		{"permission", reporter{prog: "m365send"}, failure.New(failure.Permission, "x", "grant SMTP.SendAsApp"),
			"grant SMTP.SendAsApp; `m365send doctor` checks each permission"},
		{"permission in doctor", reporter{prog: "m365send", doctor: true}, failure.New(failure.Permission, "x", "grant SMTP.SendAsApp"),
			"grant SMTP.SendAsApp"},
		{"sendmail sign-in", reporter{prog: "sendmail"}, failure.New(failure.SignIn, "x", ""),
			"sendmail cannot sign in by itself: as the user it runs as, run `m365send login` once (the profile is $M365SEND_PROFILE or the file's default_profile)"},
		{"temporary has no advice", reporter{prog: "m365send"}, failure.New(failure.Temporary, "x", "try later"), "try later"},
		{"no file", reporter{prog: "m365send"}, &config.Error{Msg: "x", Advice: "create it", Err: config.ErrNoFile},
			"create it; m365send names the file with --config FILE (else $M365SEND_CONFIG)"},
		{"sendmail, no file", reporter{prog: "sendmail"}, &config.Error{Msg: "x", Advice: "create it", Err: config.ErrNoFile},
			"create it; sendmail names the file with -C FILE (else $M365SEND_CONFIG)"},
		{"no profile", reporter{prog: "m365send"}, &config.Error{Msg: "x", Advice: "no profile selected", Err: config.ErrNoProfile},
			"no profile selected; --profile NAME chooses one"},
		{"sendmail, no profile", reporter{prog: "sendmail"}, &config.Error{Msg: "x", Advice: "no profile selected", Err: config.ErrNoProfile},
			"no profile selected; sendmail takes no profile option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rep.hint(tc.err)
			if got != tc.want {
				t.Errorf("hint %q, want %q", got, tc.want)
			}
			if tc.rep.prog == "sendmail" && strings.Contains(got, "--") {
				t.Errorf("sendmail's hint %q names an m365send flag", got)
			}
		})
	}
}

// wantExit is the exit status sysexits(3) gives each kind, written out
// here independently of exitCodes.
func wantExit(k failure.Kind) int {
	switch k {
	case failure.Usage:
		return 64
	case failure.BadMessage, failure.BadAddress:
		return 65
	case failure.Unavailable:
		return 69
	case failure.Temporary, failure.Quota:
		return 75
	case failure.Permission, failure.SignIn:
		return 77
	case failure.Config:
		return 78
	}
	return 70
}

// TestAADSTSTableThroughTheCLI runs every row of token's AADSTS table
// through the classifier and the command: its kind, its hint (first on
// the hint line) and the exit status the command gives.
func TestAADSTSTableThroughTheCLI(t *testing.T) {
	rows := token.AADSTSHints()
	if len(rows) == 0 {
		t.Fatal("token.AADSTSHints is empty")
	}
	for _, h := range rows {
		t.Run(fmt.Sprintf("AADSTS%d", h.Code), func(t *testing.T) {
			err := fmt.Errorf("get token: %w", &token.Error{Code: h.Code, Description: fmt.Sprintf("AADSTS%d: %s", h.Code, h.Meaning)})
			checkThroughCLI(t, err, "m365send", h.Kind, h.Hint)
			// The same failure met by the sender keeps its kind and hint.
			se := &sender.Error{Server: "smtp.office365.com:587", Stage: sender.StageToken, Err: err}
			if failure.KindOf(se) != h.Kind || failure.HintOf(se) != h.Hint || exitCodeFor(se) != wantExit(h.Kind) {
				t.Errorf("through the sender: kind %s, hint %q, exit %d", failure.KindOf(se), failure.HintOf(se), exitCodeFor(se))
			}
		})
	}
}

// checkThroughCLI checks that err carries kind and hint, that the command
// (prog: m365send or sendmail) exits with the kind's status and prints the
// hint on its own line; it returns what was printed.
func checkThroughCLI(t *testing.T, err error, prog string, kind failure.Kind, hint string) string {
	t.Helper()
	if k := failure.KindOf(err); k != kind {
		t.Errorf("kind %s, want %s", k, kind)
	}
	if got := failure.HintOf(err); got != hint {
		t.Errorf("hint %q, want %q", got, hint)
	}
	if code := exitCodeFor(err); code != wantExit(kind) {
		t.Errorf("exit %d, want %d", code, wantExit(kind))
	}
	var b bytes.Buffer
	reporter{prog: prog}.print(&b, err)
	if !strings.Contains(b.String(), "\n  hint: "+safetext.OneLine(hint)) {
		t.Errorf("%s printed:\n%s", prog, b.String())
	}
	return b.String()
}

// TestReplyTableThroughTheCLI runs every row of sender's reply table (the
// per-class defaults included) through the classifier and the command:
// its kind, its hint and the exit status the command gives.
func TestReplyTableThroughTheCLI(t *testing.T) {
	rows := sender.ReplyHints()
	if len(rows) == 0 {
		t.Fatal("sender.ReplyHints is empty")
	}
	for _, h := range rows {
		t.Run(fmt.Sprintf("%d %s %s", h.Code, h.EnhancedCode, h.Text), func(t *testing.T) {
			var err error = &sender.Error{Server: "smtp.office365.com:587", Stage: sender.StageData, Code: h.Code,
				EnhancedCode: h.EnhancedCode, Text: h.Text, Temporary: h.Code >= 400 && h.Code < 500}
			if printed := checkThroughCLI(t, err, "sendmail", h.Kind, h.Hint); strings.Contains(printed, "--") {
				t.Errorf("printed for sendmail (a flag named):\n%s", printed)
			}
		})
	}
}

// TestGraphErrorTableThroughTheCLI runs every row of graph's error table
// through the classifier and the command: its kind, its hint and the exit
// status the command gives.
func TestGraphErrorTableThroughTheCLI(t *testing.T) {
	rows := graph.ErrorHints()
	if len(rows) == 0 {
		t.Fatal("graph.ErrorHints is empty")
	}
	for _, h := range rows {
		t.Run(fmt.Sprintf("%d %s %s", h.Status, h.Code, h.Op), func(t *testing.T) {
			var err error = fmt.Errorf("send: %w", &graph.Error{Mailbox: "alerts@contoso.com", Op: h.Op, Status: h.Status, Code: h.Code, Message: h.Message})
			checkThroughCLI(t, err, "m365send", h.Kind, h.Hint)
		})
	}
}
