package status

import (
	"context"
	"log/slog"
	"os/exec"
	"time"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/tokencache"
	"github.com/m365send/m365send/token"
)

// HookTimeout bounds the on_login_required command.
const HookTimeout = 30 * time.Second

// Environment variables the on_login_required command gets. They do not
// start with M365SEND_, so a command that itself runs m365send (to mail
// the operator through another profile) is not refused for an unknown
// M365SEND_ variable nor sent to this profile.
const (
	EnvProfile = "LOGIN_REQUIRED_PROFILE"
	EnvReason  = "LOGIN_REQUIRED_REASON"
)

// Recorder keeps one profile's health record up to date and runs its
// on_login_required command. Its zero File records nothing (a profile
// without a token cache folder).
type Recorder struct {
	// Profile is the profile's name.
	Profile string
	// File is the health record (HealthFile of the cache file).
	File string
	// Command is on_login_required (nil: none).
	Command []string
	// Environ is the environment the command starts from ("KEY=value").
	Environ []string
	// Log receives a warning when the record or the command fails.
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

func (r *Recorder) warn(msg string, err error) {
	if r.Log != nil {
		r.Log.Warn(msg, "profile", r.Profile, "error", err.Error())
	}
}

// Event records a token event (token.Config.OnEvent). A sign-in found to
// be required runs the on_login_required command once: not again until a
// person has signed in.
func (r *Recorder) Event(ev token.Event) {
	if r.File == "" {
		return
	}
	now := r.now()
	run := false
	reason := ""
	_, err := update(r.File, func(h *Health) {
		switch ev.Kind {
		case token.EventSignedIn:
			h.SignedIn, h.RefreshUsed, h.LoginRequired = now, now, nil
			if ev.Account != "" {
				h.Account = ev.Account
			}
		case token.EventRefreshed:
			h.RefreshUsed, h.LoginRequired = now, nil
		case token.EventLoginRequired:
			if h.LoginRequired != nil && h.LoginRequired.Notified {
				return
			}
			reason = "a person must sign in again"
			if ev.Err != nil {
				reason = safetext.OneLine(ev.Err.Error())
			}
			h.LoginRequired = &LoginRequired{At: now, Reason: reason, Notified: true}
			run = len(r.Command) > 0
		}
	})
	if err != nil {
		r.warn("could not update the sign-in record", err)
	}
	if run {
		r.runHook(reason)
	}
}

// Sent records a successful send.
func (r *Recorder) Sent() {
	if r.File == "" {
		return
	}
	now := r.now()
	if _, err := update(r.File, func(h *Health) { h.LastSend = now }); err != nil {
		r.warn("could not update the sign-in record", err)
	}
}

// runHook runs on_login_required without a shell, with the profile and
// the reason in its environment, its output discarded, and waits for it
// (HookTimeout at most).
func (r *Recorder) runHook(reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Command[0], r.Command[1:]...)
	cmd.Env = append(append([]string{}, r.Environ...), EnvProfile+"="+r.Profile, EnvReason+"="+reason)
	if err := cmd.Run(); err != nil {
		r.warn("on_login_required failed", err)
	}
}

// NewRecorder is the Recorder for a loaded profile; environ is the
// environment on_login_required starts from.
func NewRecorder(p *config.Profile, environ []string, log *slog.Logger) *Recorder {
	return &Recorder{Profile: p.Name, File: HealthFile(p.CacheFile()), Command: p.OnLoginRequired, Environ: environ, Log: log}
}

// Adopt moves the profile's token cache from where m365send kept it
// before (~/.cache/m365send) to its cache file in the state folder, the
// first time the profile is used after the move, and says so (log, at
// warning level: once). A failure is a warning too: the profile then
// needs a sign-in, which status and the send's error tell.
func Adopt(ctx context.Context, p *config.Profile, log *slog.Logger) {
	moved, err := tokencache.Adopt(ctx, p.LegacyCacheFile(), p.CacheFile())
	switch {
	case err != nil:
		log.Warn("could not move the token cache to the state folder", "profile", p.Name, "error", err.Error())
	case moved:
		log.Warn("moved the token cache (the sign-in) to the state folder, so that clearing caches does not sign anybody out",
			"profile", p.Name, "from", p.LegacyCacheFile(), "to", p.CacheFile())
	}
}
