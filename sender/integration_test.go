package sender

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/m365send/m365send/sender/smtptest"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// TestSendWithEntraTokens goes the whole way: MSAL gets a token from the
// fake Entra ID over HTTPS, and the fake Office 365 checks it with the
// authority's Verify, as Exchange would.
func TestSendWithEntraTokens(t *testing.T) {
	auth, err := entratest.New(entratest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(auth.Close)
	if err := auth.AddApp(entratest.App{ClientID: "app-id", Secret: "app-secret", Mailboxes: []string{testMailbox}}); err != nil {
		t.Fatal(err)
	}
	src, err := token.New(token.Config{
		Flow:          token.FlowClientCredentials,
		Tenant:        "contoso.onmicrosoft.com",
		ClientID:      "app-id",
		ClientSecret:  "app-secret",
		AuthorityHost: auth.URL(),
		HTTPClient:    auth.HTTPClient(),
		CacheFile:     filepath.Join(t.TempDir(), "cache", "alerts.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := startSMTP(t, smtptest.Options{Verify: auth.Verify})

	s, _ := newTestSender(t, srv, src, nil)
	if res, err := s.Send(testCtx(t), batch(3)...); err != nil {
		t.Fatal(err, res)
	}
	exactlyOnce(t, srv, 3)

	// The app has no right on another mailbox: Exchange says 535 5.7.3;
	// the sender refreshes once and gives up.
	other, _ := newTestSender(t, srv, src, func(c *Config) { c.Mailbox = "ceo@contoso.com" })
	_, err = other.Send(testCtx(t), batch(1)...)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageAuth || e.EnhancedCode != "5.7.3" || e.Hint() == "" {
		t.Fatalf("err = %v", err)
	}
	if n := srv.Count(smtptest.StageAuth); n != 3 {
		t.Errorf("AUTH %d times, want 3 (1 good, 1 refused, 1 after refresh)", n)
	}
}
