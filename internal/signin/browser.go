package signin

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// Choice is the sign-in method Choose picked and why.
type Choice struct {
	Method Method
	// Why says, for a person, why this method was picked when they did
	// not ask for it ("" when they did).
	Why string
	// Open opens the browser for Browser ("" otherwise: nil).
	Open Opener
}

// Request is what a person asked of a sign-in and what the machine offers.
type Request struct {
	// DeviceCode asks for the device-code flow (--device-code).
	DeviceCode bool
	// NoBrowser asks for paste-back (--no-browser).
	NoBrowser bool
	// Getenv reads the environment (BROWSER, DISPLAY, WAYLAND_DISPLAY).
	Getenv func(string) string
	// GOOS is the operating system (runtime.GOOS).
	GOOS string
}

// Choose picks the sign-in method: device code or paste-back when asked
// for, else the browser when one can be opened (see BrowserOpener), else
// device code.
func Choose(r Request) (Choice, error) {
	switch {
	case r.DeviceCode && r.NoBrowser:
		return Choice{}, errors.New("--device-code and --no-browser do not go together: choose one")
	case r.DeviceCode:
		return Choice{Method: DeviceCode}, nil
	case r.NoBrowser:
		return Choice{Method: PasteBack}, nil
	}
	open, why := BrowserOpener(r.Getenv, r.GOOS)
	if open == nil {
		return Choice{Method: DeviceCode, Why: why}, nil
	}
	return Choice{Method: Browser, Open: open}, nil
}

// BrowserOpener returns how to open a browser here, or nil and why none
// can be. $BROWSER wins: a list of commands separated by ':', each run
// without a shell (split at spaces) with the address in place of %s or
// appended; the first that starts is used. Else macOS's open, Windows'
// rundll32 url.dll, and elsewhere xdg-open when a graphical session is
// there ($DISPLAY or $WAYLAND_DISPLAY set).
func BrowserOpener(getenv func(string) string, goos string) (Opener, string) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if b := strings.TrimSpace(getenv("BROWSER")); b != "" {
		var cmds [][]string
		for _, c := range strings.Split(b, ":") {
			if f := strings.Fields(c); len(f) > 0 {
				cmds = append(cmds, f)
			}
		}
		if len(cmds) > 0 {
			return commandOpener(cmds), ""
		}
	}
	switch goos {
	case "darwin":
		return commandOpener([][]string{{"open"}}), ""
	case "windows":
		return commandOpener([][]string{{"rundll32", "url.dll,FileProtocolHandler"}}), ""
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return nil, "no browser can be opened here (no $DISPLAY or $WAYLAND_DISPLAY, no $BROWSER)"
	}
	if _, err := exec.LookPath("xdg-open"); err != nil {
		return nil, "no browser can be opened here (xdg-open is not installed and $BROWSER is not set)"
	}
	return commandOpener([][]string{{"xdg-open"}}), ""
}

// browserHint is what to do when no browser opens.
const browserHint = "set $BROWSER to a browser command, or sign in with --no-browser (paste-back) or --device-code"

// commandOpener runs the first of cmds that starts, with the address as
// its argument, and reports through failed when it exits unsuccessfully.
// Its output is discarded: the address holds no secret, but a browser's
// chatter is no business of m365send's output.
func commandOpener(cmds [][]string) Opener {
	return func(u string, failed func(error)) error {
		var errs []error
		for _, argv := range cmds {
			args := make([]string, 0, len(argv))
			subst := false
			for _, a := range argv[1:] {
				if strings.Contains(a, "%s") {
					a, subst = strings.ReplaceAll(a, "%s", u), true
				}
				args = append(args, a)
			}
			if !subst {
				args = append(args, u)
			}
			cmd := exec.Command(argv[0], args...)
			if err := cmd.Start(); err != nil {
				errs = append(errs, err)
				continue
			}
			name := argv[0]
			go func() {
				if err := cmd.Wait(); err != nil {
					failed(failure.Wrap(failure.Config, fmt.Errorf("the browser command %s failed: %w", name, err), browserHint))
				}
			}()
			return nil
		}
		return failure.Wrap(failure.Config, fmt.Errorf("open a browser: %w", errors.Join(errs...)), browserHint)
	}
}
