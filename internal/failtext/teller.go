package failtext

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/token"
)

// Teller tells a person about a failure: one line saying what happened,
// one saying what to do. The hint is the failure's own (written in the
// library's terms) followed by the command's advice for its kind.
type Teller struct {
	// Prog starts every line: "m365send", or "sendmail" for the
	// sendmail interface, whose callers know no m365send flags.
	Prog string
	// Profile is the --profile given, repeated in advice ("" when none).
	Profile string
	// Doctor is set when doctor reports: advice to run doctor is left out.
	Doctor bool
}

// Hint is the one-line hint for err: its own hint and the command's
// advice for its kind, either of which may be absent.
func (t Teller) Hint(err error) string {
	return JoinHints(safetext.OneLine(Hint(err)), t.Advice(failure.KindOf(err), err))
}

// JoinHints joins the non-empty hints with "; ".
func JoinHints(hints ...string) string {
	var out []string
	for _, h := range hints {
		if h != "" {
			out = append(out, h)
		}
	}
	return strings.Join(out, "; ")
}

// Advice is what the command adds to the hint of err, a failure of kind
// k: how to do what the hint says with this command.
func (t Teller) Advice(k failure.Kind, err error) string {
	switch {
	case errors.Is(err, config.ErrNoProfile):
		if t.Prog == "sendmail" {
			return "sendmail takes no profile option"
		}
		return "--profile NAME chooses one"
	case errors.Is(err, config.ErrNoFile):
		if t.Prog == "sendmail" {
			return "sendmail names the file with -C FILE (else $M365SEND_CONFIG)"
		}
		return "m365send names the file with --config FILE (else $M365SEND_CONFIG)"
	}
	var ce *token.CacheError
	if k == failure.Config && errors.As(err, &ce) && !errors.Is(err, token.ErrInsecureCache) {
		// A cache folder that cannot be used: say how to choose another.
		return "the token cache folder is set with $M365SEND_CACHE_DIR or cache_dir in the profile"
	}
	if t.Prog == "sendmail" {
		switch k {
		case failure.SignIn:
			return "sendmail cannot sign in by itself: as the user it runs as, run `m365send login` once " +
				"(the profile is $M365SEND_PROFILE or the file's default_profile)"
		case failure.Permission:
			return "as the user sendmail runs as, `m365send doctor` checks each permission"
		}
		return ""
	}
	profile := ""
	if t.Profile != "" {
		profile = " --profile " + config.ShellQuote(t.Profile)
	}
	switch k {
	case failure.SignIn:
		return "run `m365send login" + profile + "`"
	case failure.Permission:
		if !t.Doctor {
			return "`m365send doctor" + profile + "` checks each permission"
		}
	}
	return ""
}

// Print writes err as one line saying what happened and, where a hint is
// known, a second line saying what to do.
func (t Teller) Print(w io.Writer, err error) {
	fmt.Fprintf(w, "%s: %s\n", t.Prog, Message(err))
	if h := t.Hint(err); h != "" {
		fmt.Fprintf(w, "  hint: %s\n", h)
	}
}

// Warn writes a warning in the shape of an error: "m365send: warning: ...".
func (t Teller) Warn(w io.Writer, msg string) {
	fmt.Fprintf(w, "%s: warning: %s\n", t.Prog, safetext.OneLine(msg))
}
