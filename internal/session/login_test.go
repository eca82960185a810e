package session

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/signin"
	"github.com/m365send/m365send/token"
)

// PersonSignIn tells the person what to do for each method, on the
// writer it is given, and asks for no client credential.
func TestPersonSignInTellsThePerson(t *testing.T) {
	var w bytes.Buffer
	opts := PersonSignIn(Options{Profile: "me"}, signin.Choice{Method: signin.DeviceCode, Why: "no browser can be opened here"}, nil, &w)
	if !opts.NoCredential || opts.Profile != "me" || opts.SignIn != token.SignIn(signin.DeviceCode) {
		t.Errorf("options: NoCredential %v, Profile %q, SignIn %q", opts.NoCredential, opts.Profile, opts.SignIn)
	}
	if err := opts.DeviceCodePrompt(context.Background(), token.DeviceCode{UserCode: "ABC123", VerificationURL: "https://microsoft.com/devicelogin"}); err != nil {
		t.Fatal(err)
	}
	want := "Signing in with a device code: no browser can be opened here.\nTo sign in, open https://microsoft.com/devicelogin in a web browser and enter the code ABC123.\n"
	if w.String() != want {
		t.Errorf("device code prompt:\n%q\nwant\n%q", w.String(), want)
	}

	w.Reset()
	opened := ""
	open := func(u string, failed func(error)) error { opened = u; return errors.New("no browser") }
	opts = PersonSignIn(Options{}, signin.Choice{Method: signin.Browser, Open: open}, nil, &w)
	if err := opts.OpenBrowser("https://login.example/authorize", nil); err == nil || opened != "https://login.example/authorize" {
		t.Errorf("OpenBrowser = %v, opened %q: want the opener's error and the address", err, opened)
	}
	if !strings.Contains(w.String(), "\n  https://login.example/authorize\n") {
		t.Errorf("the browser prompt does not show the address:\n%s", w.String())
	}
}
