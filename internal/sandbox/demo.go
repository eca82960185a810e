package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
	"github.com/m365send/m365send/token/entratest"
)

// demoRecipient is where the demo sends.
const demoRecipient = "ops@example.com"

// Demo sends through the sandbox profiles with the same wiring as
// `m365send send` and `m365send login` (internal/session), and once
// through a relay on loopback as a device would, then prints on out what
// the fake server received. base supplies the environment, made
// safe with Env, and where warnings go; its profile selection is ignored.
func Demo(ctx context.Context, sb *Sandbox, out io.Writer, base session.Options) error {
	base.Getenv = Env(base.Getenv)
	open := func(profile string) (*session.Session, error) {
		o := base
		o.ConfigFile, o.Profile = sb.ConfigFile, profile
		return session.Open(ctx, o)
	}

	fmt.Fprintf(out, "m365send sandbox --demo\n  fake Entra ID:   %s\n  fake Office 365: %s\n  fake Graph:      %s\n  config file:     %s\n\n",
		sb.Authority.URL(), sb.SMTP.Addr(), sb.Graph.URL(), sb.ConfigFile)

	// 1. App-only: a client-credentials token, STARTTLS, AUTH XOAUTH2.
	fmt.Fprintf(out, "1. profile %q: client credentials (secret), sending as %s\n", AppProfile, AppMailbox)
	appSess, err := open(AppProfile)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := demoSend(ctx, out, appSess, "m365send sandbox: app-only send",
		"Sent by the sandbox demo with a client-credentials token (SMTP.SendAsApp).\n"); err != nil {
		return err
	}

	// 2. Delegated: a browser sign-in (authorization code with PKCE and a
	//    loopback redirect), cached like `m365send login`; the demo plays
	//    the browser, and the fake Entra ID approves it.
	fmt.Fprintf(out, "\n2. profile %q: browser sign-in, authorization code with PKCE (the demo plays the browser; the sandbox approves it as %s)\n", UserProfile, UserUPN)
	login := base
	login.ConfigFile, login.Profile, login.NoSender = sb.ConfigFile, UserProfile, true
	login.SignIn = token.SignInBrowser
	login.OpenBrowser = func(u string, failed func(error)) error {
		fmt.Fprintln(out, "   the browser opens the sign-in page; Entra ID sends it back to m365send on localhost")
		go func() {
			if _, err := entratest.Browse(sb.Authority.HTTPClient(), nil, u); err != nil {
				failed(err)
			}
		}()
		return nil
	}
	loginSess, err := session.Open(ctx, login)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if _, err := loginSess.Tokens.Login(ctx); err != nil {
		return fmt.Errorf("sandbox demo: browser sign-in: %w", err)
	}
	fmt.Fprintf(out, "   signed in; the refresh token is cached in %s\n", sb.CacheDir)

	// 3. A fresh session, as a later `m365send send` would be: the token
	//    comes from the cache, with no second sign-in.
	fmt.Fprintf(out, "\n3. profile %q: send with the cached sign-in\n", UserProfile)
	userSess, err := open(UserProfile)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := demoSend(ctx, out, userSess, "m365send sandbox: delegated send",
		"Sent by the sandbox demo with a delegated token (SMTP.Send) after a browser sign-in.\n"); err != nil {
		return err
	}

	// 4. App-only through Microsoft Graph: a Graph token, the same MIME
	//    posted to sendMail.
	fmt.Fprintf(out, "\n4. profile %q: client credentials, through Microsoft Graph (sendMail)\n", GraphProfile)
	graphSess, err := open(GraphProfile)
	if err != nil {
		return fmt.Errorf("sandbox demo: %w", err)
	}
	if err := demoSend(ctx, out, graphSess, "m365send sandbox: Graph send",
		"Sent by the sandbox demo through Microsoft Graph with a client-credentials token (Mail.Send).\n"); err != nil {
		return err
	}
	gmsgs := sb.Graph.Messages()
	if len(gmsgs) != 1 {
		return fmt.Errorf("sandbox demo: the fake Graph holds %d messages, want 1", len(gmsgs))
	}
	fmt.Fprintf(out, "   the fake Graph received it for %s, %d bytes of MIME\n", strings.Join(gmsgs[0].Recipients, ", "), len(gmsgs[0].Data))

	// 5. A device with a password, through a relay on loopback.
	fmt.Fprintf(out, "\n5. a relay for devices that only speak SMTP with a password, delivering through profile %q\n", AppProfile)
	if err := demoRelay(ctx, out, sb, base, 3); err != nil {
		return err
	}

	msgs := sb.SMTP.Messages()
	fmt.Fprintf(out, "\nWhat the fake Office 365 received (%d messages):\n", len(msgs))
	for _, m := range msgs {
		if err := WriteMessage(out, m); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nWhat the fake Entra ID was asked: %d client-credentials tokens (Exchange and Graph), %d browser sign-in, %d authorization code redeemed, %d refresh.\n",
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantClientCredentials),
		sb.Authority.Requests(entratest.EndpointAuthorize, ""),
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantAuthorizationCode),
		sb.Authority.Requests(entratest.EndpointToken, entratest.GrantRefreshToken))
	if len(msgs) != 3 {
		return fmt.Errorf("sandbox demo: the fake server holds %d messages, want 3", len(msgs))
	}
	fmt.Fprintln(out, "Demo complete: both flows and the relay went through MSAL (HTTPS) and go-mail (STARTTLS + XOAUTH2), and one message through Microsoft Graph.")
	return nil
}

// demoSend sends one text message to demoRecipient and says what
// happened.
func demoSend(ctx context.Context, out io.Writer, sess *session.Session, subject, text string) error {
	results, err := sess.Transport.Send(ctx, &sender.Message{
		FromName: sess.Profile.FromName,
		To:       []string{demoRecipient},
		Subject:  subject,
		Text:     text,
	})
	if err != nil {
		return fmt.Errorf("sandbox demo: send: %w", err)
	}
	if len(results) != 1 {
		return errors.New("sandbox demo: send returned no result")
	}
	fmt.Fprintf(out, "   sent to %s, Message-ID %s\n", strings.Join(results[0].Recipients, ", "), results[0].MessageID)
	return nil
}
