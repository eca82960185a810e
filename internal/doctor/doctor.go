// Package doctor checks a profile step by step (see Steps): its
// configuration, a fresh token and its claims, and the SMTP host from DNS to
// an AUTH XOAUTH2 that sends no mail. Run returns one Result per step, each
// with what failed and how to fix it; the command prints them and chooses
// the exit status from the first failure's kind.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

// Exchange Online's application ID, the audience of some Exchange tokens.
const exchangeAppID = "00000002-0000-0ff1-ce00-000000000000"

// Steps are doctor's steps in order: config, token, claims, then the
// network steps.
func Steps() []string {
	return append(append([]string{"config", "token", "claims"}, networkSteps()...), "graph")
}

// networkSteps are the steps sender.Check's probe answers, in order.
func networkSteps() []string { return []string{"dns", "tcp", "starttls", "mechanisms", "auth"} }

// Status is a step's outcome.
type Status string

// The outcomes of a step. Pending is a claims result decided only after
// the auth step (see claims); it stays Pending when there is no auth step
// (a profile without a mailbox).
const (
	OK      Status = "ok"
	Warn    Status = "warn"
	Fail    Status = "FAIL"
	Skip    Status = "skip"
	Pending Status = "pending"
)

// Result is one step's outcome. A step that failed on an error carries it
// in Err: the command words it (Detail, when empty, is the error's text)
// and adds the error's hint to Fix, as its other commands do, so that
// doctor gives the same advice (sender's connection hints among them).
type Result struct {
	Status Status
	Step   string
	Detail string
	Fix    string
	// Kind is what a Fail calls for (the exit status).
	Kind failure.Kind
	Err  error
}

// Report is the outcome of Run: one or more results per step, in order.
type Report struct {
	Results []Result
	// Failed counts the results with status Fail.
	Failed int
	// Summary is printed after the steps ("" unless all passed).
	Summary string
	// Sources says where each of the profile's values came from (nil when
	// the profile did not load); WriteSources prints it.
	Sources []config.Source
}

func (d *Report) add(r Result) int {
	d.Results = append(d.Results, r)
	if r.Status == Fail {
		d.Failed++
	}
	return len(d.Results) - 1
}

func (d *Report) ok(step, detail string) { d.add(Result{Status: OK, Step: step, Detail: detail}) }

func (d *Report) fail(step string, kind failure.Kind, detail, fix string) {
	d.add(Result{Status: Fail, Step: step, Detail: detail, Fix: fix, Kind: kind})
}

// failErr records a failed step with err, its kind and (when printed) its
// message and hint.
func (d *Report) failErr(step string, err error) {
	d.add(Result{Status: Fail, Step: step, Kind: failure.KindOf(err), Err: err})
}

func (d *Report) skip(step, why string) { d.add(Result{Status: Skip, Step: step, Detail: why}) }

// Run performs the checks on the profile opts select.
func Run(ctx context.Context, opts session.Options) *Report {
	d := &Report{}
	d.run(ctx, opts)
	d.queueStep(ctx, opts.LoadOptions())
	d.relay(opts.LoadOptions())
	if d.Failed > 0 {
		d.Summary = ""
	}
	return d
}

func (d *Report) run(ctx context.Context, opts session.Options) {
	opts.Warnings = true
	s, err := session.Open(ctx, opts)
	if err != nil && s == nil && failure.KindOf(err) != failure.Config {
		// A device-code profile without a mailbox needs a token to know
		// whom to send as; check the rest without the sender.
		nopts := opts
		nopts.NoSender, nopts.NoWarnings = true, true
		if s2, err2 := session.Open(ctx, nopts); err2 == nil {
			s = s2
		}
	}
	if s == nil {
		d.failErr("config", err)
		for _, st := range Steps()[1:] {
			d.skip(st, "needs a working configuration")
		}
		return
	}
	p := s.Profile
	where := "environment only"
	if p.File != "" {
		where = p.File
	}
	cred := p.CredentialSource()
	if cred == "" {
		cred = "device code sign-in"
	}
	flow := p.Flow
	if p.FlowInferred {
		flow += " (inferred: no client credential found)"
	}
	d.ok("config", fmt.Sprintf("profile %s (%s): %s, tenant %s, client %s, %s", p.Name, where, flow, p.Tenant, p.ClientID, cred))
	d.Sources = p.Sources()
	for _, w := range p.Warnings() {
		d.add(Result{Status: Warn, Step: "config", Detail: w,
			Fix: "doctor -v lists where every value came from"})
	}
	d.warnForeignHosts(s.Cloud, s.SMTPHost, p.AuthorityHost)

	// Refresh, not TokenContext: a cached token would hide a credential
	// that Entra ID no longer accepts (a wrong or expired secret, a
	// replaced certificate, a revoked sign-in). Refresh sends the client
	// credential, or the cached refresh token, to Entra ID.
	tok, err := s.Tokens.Refresh(ctx)
	tokenOK := err == nil
	if err != nil {
		d.failErr("token", s.Explain(err))
		d.skip("claims", "needs a token")
	} else {
		exp := ""
		if !tok.Expiry.IsZero() {
			exp = fmt.Sprintf(", valid for %s", time.Until(tok.Expiry).Round(time.Minute))
		}
		how := "client credential accepted"
		if p.Flow == config.FlowDeviceCode {
			how = "refresh token of the cached sign-in accepted"
		}
		d.ok("token", fmt.Sprintf("new %s token from Entra ID (%s)%s", p.Flow, how, exp))
	}
	roleAt := -1
	if tokenOK {
		roleAt = d.claims(s, tok)
	}

	if s.Sender == nil {
		for _, st := range networkSteps() {
			d.skip(st, "no mailbox: set mailbox in the profile or $M365SEND_MAILBOX")
		}
		d.skip("graph", "no mailbox: set mailbox in the profile or $M365SEND_MAILBOX")
		return
	}
	probe, err := s.Sender.Check(ctx)
	smtpFrom := len(d.Results)
	d.network(s, probe, err, tokenOK)
	if !tokenOK {
		d.skip("graph", "needs a working credential")
	} else {
		d.graphStep(ctx, s, err == nil)
		d.graphCarries(s, smtpFrom)
	}
	if roleAt >= 0 {
		r := &d.Results[roleAt]
		if err == nil && probe != nil && probe.Authenticated {
			// RBAC for Applications grants SMTP.SendAsApp in Exchange
			// without a role in the token.
			r.Status, r.Fix = Warn, ""
			r.Detail += "; AUTH succeeded, so Exchange grants it another way (RBAC for Applications)"
		} else {
			r.Status = Fail
			d.Failed++
		}
	}
	if d.Failed == 0 {
		d.Summary = fmt.Sprintf("All checks passed: profile %s can send as %s.", p.Name, s.Mailbox)
	}
}

// graphCarries turns the SMTP steps' failures (results from index from)
// into warnings when the mail goes through Graph anyway: transport graph,
// or auto with a Graph step that passed.
func (d *Report) graphCarries(s *session.Session, from int) {
	t := s.Profile.Transport
	last := d.Results[len(d.Results)-1]
	if t == config.TransportSMTP || last.Step != "graph" || last.Status != OK && t == config.TransportAuto {
		return
	}
	for i := from; i < len(d.Results)-1; i++ {
		if r := &d.Results[i]; r.Status == Fail {
			r.Status = Warn
			r.Fix = strings.TrimSpace(r.Fix + " (mail goes through Microsoft Graph: transport = " + t + ")")
			d.Failed--
		}
	}
}

// claims checks the token's claims. A missing SMTP.SendAsApp role is
// decided after the AUTH step, because RBAC for Applications grants it in
// Exchange without a role in the token: claims then returns the index of
// a pending result (status Pending), else -1.
func (d *Report) claims(s *session.Session, tok *oauth2.Token) int {
	c, err := token.ParseClaims(tok.AccessToken)
	if err != nil {
		d.fail("claims", failure.Config, "the access token cannot be decoded: "+err.Error(), "Exchange Online tokens are JWTs; check authority_host and cloud")
		return -1
	}
	resource := s.Cloud.Resource
	aud := strings.TrimRight(c.Audience, "/")
	audOK := strings.EqualFold(aud, resource) || strings.EqualFold(aud, exchangeAppID) ||
		// Entra ID also knows global Exchange Online as outlook.office.com,
		// the resource delegated scopes name there.
		s.Cloud.DelegatedResource != "" && strings.EqualFold(aud, s.Cloud.DelegatedResource)
	if !audOK {
		d.fail("claims", failure.Config, fmt.Sprintf("the token's audience is %q, not Exchange Online (%s)", c.Audience, resource),
			fmt.Sprintf("the token must be for %s (scope %s); check cloud = %q and that the app was registered in that cloud", resource, s.Tokens.Scopes(), s.Profile.Cloud))
		return -1
	}
	if p := s.Profile; config.IsGUID(p.Tenant) && c.TenantID != "" && !strings.EqualFold(c.TenantID, p.Tenant) {
		d.fail("claims", failure.Config, fmt.Sprintf("the token is from tenant %s, the profile names %s", c.TenantID, p.Tenant), "set tenant to the directory (tenant) ID that holds the mailbox")
		return -1
	}
	now := time.Now()
	if !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(now) {
		d.fail("claims", failure.Temporary, fmt.Sprintf("the token expired at %s", c.ExpiresAt.UTC().Format(time.RFC3339)),
			"check this machine's clock (timedatectl); Entra ID tokens live 60-90 minutes")
		return -1
	}
	var perm string
	if s.Profile.Flow == config.FlowClientCredentials {
		if !slices.Contains(c.Roles, "SMTP.SendAsApp") {
			return d.add(Result{Status: Pending, Step: "claims", Kind: failure.Permission,
				Detail: fmt.Sprintf("the token has no SMTP.SendAsApp role (roles: %s)", listOrNone(c.Roles)),
				Fix:    "in Entra ID: API permissions → Add → APIs my organization uses → Office 365 Exchange Online → Application permissions → SMTP.SendAsApp, then Grant admin consent"})
		}
		perm = "roles SMTP.SendAsApp"
	} else {
		if !slices.Contains(c.Scopes, "SMTP.Send") {
			d.fail("claims", failure.Permission, fmt.Sprintf("the token has no SMTP.Send scope (scp: %s)", listOrNone(c.Scopes)),
				"add the delegated permission Office 365 Exchange Online → SMTP.Send (or Microsoft Graph SMTP.Send) to the app, consent, then `m365send logout && m365send login`")
			return -1
		}
		perm = "scp SMTP.Send"
		if c.UPN != "" {
			perm += " for " + c.UPN
		}
	}
	left := ""
	if !c.ExpiresAt.IsZero() {
		left = fmt.Sprintf(", expires in %s", c.ExpiresAt.Sub(now).Round(time.Minute))
	}
	d.ok("claims", fmt.Sprintf("aud %s, %s, tid %s%s", c.Audience, perm, c.TenantID, left))
	return -1
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}

// network reports the SMTP steps from what sender.Check learned.
func (d *Report) network(s *session.Session, probe *sender.Probe, err error, tokenOK bool) {
	if probe == nil {
		probe = &sender.Probe{}
	}
	hostport := net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort))
	var se *sender.Error
	stage := sender.Stage("")
	if err != nil {
		if errors.As(err, &se) {
			stage = se.Stage
		} else {
			stage = sender.StageAuth
		}
	}
	steps := networkSteps()
	failAt := len(steps)
	switch stage {
	case "":
	case sender.StageConfig, sender.StageDNS:
		failAt = 0
	case sender.StageConnect, sender.StageGreeting:
		failAt = 1
	case sender.StageStartTLS:
		failAt = 2
	case sender.StageToken:
		failAt = 4
	default:
		failAt = 4
		if !hasXOAUTH2(probe.Mechanisms) {
			failAt = 3
		}
	}
	if failAt == len(steps) && !hasXOAUTH2(probe.Mechanisms) && len(probe.Mechanisms) > 0 {
		failAt = 3
	}
	for i, step := range steps {
		switch {
		case i < failAt:
			d.ok(step, networkDetail(step, s, probe, hostport))
		case i == failAt:
			switch {
			case step == "auth" && stage == sender.StageToken && !tokenOK:
				d.skip(step, "needs a token (see the token step)")
			case step == "mechanisms" && err == nil:
				d.fail(step, failure.Unavailable, fmt.Sprintf("%s offers AUTH %s after STARTTLS, not XOAUTH2", s.SMTPHost, strings.Join(probe.Mechanisms, " ")),
					"point smtp_host at Exchange Online (smtp.office365.com) or a server that takes XOAUTH2")
			case step == "mechanisms":
				// The error's own hint follows this fix when printed.
				d.add(Result{Status: Fail, Step: step, Kind: failure.Unavailable, Err: err,
					Detail: fmt.Sprintf("%s does not offer AUTH XOAUTH2 after STARTTLS (offers: %s)", s.SMTPHost, listOrNone(probe.Mechanisms)),
					Fix:    "point smtp_host at Exchange Online (smtp.office365.com) or a server that takes XOAUTH2"})
			default:
				d.failErr(step, err)
			}
		default:
			d.skip(step, "needs the "+steps[failAt]+" step")
		}
	}
}

func hasXOAUTH2(mechs []string) bool {
	for _, m := range mechs {
		if strings.EqualFold(m, "XOAUTH2") {
			return true
		}
	}
	return false
}

func networkDetail(step string, s *session.Session, probe *sender.Probe, hostport string) string {
	switch step {
	case "dns":
		if len(probe.Addrs) > 0 {
			return s.SMTPHost + " → " + strings.Join(probe.Addrs, ", ")
		}
		return s.SMTPHost
	case "tcp":
		return "connected to " + hostport
	case "starttls":
		if probe.TLSVersion != "" {
			return probe.TLSVersion + ", certificate verified"
		}
		return "certificate verified"
	case "mechanisms":
		return "AUTH " + strings.Join(probe.Mechanisms, " ")
	case "auth":
		return "XOAUTH2 accepted for " + s.Mailbox
	}
	return ""
}

// warnForeignHosts warns (without failing) about an SMTP or authority host
// that is neither the cloud's Microsoft host nor loopback: the client
// credential and the tokens go there.
func (d *Report) warnForeignHosts(cloud cloud.Cloud, smtpHost, authorityHost string) {
	for _, h := range []struct{ key, host, microsoft string }{
		{"authority_host", config.HostOf(authorityHost), cloud.AuthorityHost},
		{"smtp_host", config.HostOf(smtpHost), cloud.SMTPHost},
	} {
		if h.host == "" || strings.EqualFold(h.host, h.microsoft) || isLoopback(h.host) {
			continue
		}
		d.add(Result{Status: Warn, Step: "config",
			Detail: fmt.Sprintf("%s %s is not Microsoft's (%s): tokens and secrets are sent to %s; make sure it is yours", h.key, h.host, h.microsoft, h.host),
			Fix:    fmt.Sprintf("remove %s to use %s, unless %s is your own proxy or private cloud", h.key, h.microsoft, h.host)})
	}
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WriteSources writes where each value came from, a line each: the key,
// the value (a secret's never), and its source, with what it overrode.
func WriteSources(w io.Writer, sources []config.Source) error {
	if len(sources) == 0 {
		return nil
	}
	width := 0
	for _, s := range sources {
		width = max(width, len(s.Key))
	}
	if _, err := fmt.Fprintln(w, "\nWhere each value came from:"); err != nil {
		return err
	}
	for _, s := range sources {
		from := s.From
		if s.Overrides != "" {
			from += ", overrides " + s.Overrides
		}
		line := fmt.Sprintf("  %-*s  %s  (%s)", width, s.Key, safetext.OneLine(s.Value), safetext.OneLine(from))
		if s.Note != "" {
			line += "; " + safetext.OneLine(s.Note)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return fmt.Errorf("write sources: %w", err)
		}
	}
	return nil
}
