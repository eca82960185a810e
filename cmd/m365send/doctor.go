package main

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

	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/cloud"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/safetext"
	"github.com/m365send/m365send/sender"
	"github.com/m365send/m365send/token"
)

const doctorLong = `Doctor checks a profile step by step and says what to fix:

  config      the configuration file, environment and secret
  token       getting an access token from Entra ID
  claims      the token's audience (Exchange Online of the profile's cloud),
              its permission (roles SMTP.SendAsApp for an app, scp SMTP.Send
              for a person), its expiry and its tenant
  dns         resolving the SMTP host
  tcp         connecting to it and reading its greeting
  starttls    upgrading to TLS 1.2 or later, verifying the certificate
  mechanisms  AUTH XOAUTH2 advertised after STARTTLS
  auth        an actual AUTH XOAUTH2 with the token (no mail is sent)

Each step prints "ok" or "FAIL" with the fix. The network steps run even
when the token fails, so one run shows everything that is wrong. The exit
status is that of the first failure (see "m365send --help"), 0 when all
steps pass.`

// Exchange Online's application ID, the audience of some Exchange tokens.
const exchangeAppID = "00000002-0000-0ff1-ce00-000000000000"

func (a *app) newDoctorCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "doctor [--profile P]",
		Short: "Check config, token claims, DNS/TCP/TLS and AUTH; say what to fix",
		Long:  doctorLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d := &doctor{out: a.io.Out, rep: a.reporter()}
			d.rep.doctor = true
			opts := a.sessionOptions()
			if verbose {
				opts.Trace = a.io.Err
			}
			d.run(cmd.Context(), a.io, opts)
			a.exitCode = d.print()
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "trace the SMTP exchange on standard error (tokens redacted)")
	return cmd
}

// doctorSteps are doctor's steps in order (see doctorLong).
func doctorSteps() []string {
	return append([]string{"config", "token", "claims"}, networkSteps()...)
}

// networkSteps are the steps sender.Check's probe answers, in order.
func networkSteps() []string { return []string{"dns", "tcp", "starttls", "mechanisms", "auth"} }

// doctor collects one result per step, in order, and prints them.
type doctor struct {
	out     io.Writer
	rep     reporter // says what to do about an error
	results []result
	failed  int
	summary string // printed after the steps
}

// result is one step's outcome.
type result struct {
	status string // ok, warn, FAIL, skip
	step   string
	detail string
	fix    string
	kind   failure.Kind // what a FAIL calls for: the exit code
}

func (d *doctor) add(r result) int {
	d.results = append(d.results, r)
	if r.status == "FAIL" {
		d.failed++
	}
	return len(d.results) - 1
}

func (d *doctor) ok(step, detail string) { d.add(result{status: "ok", step: step, detail: detail}) }

func (d *doctor) fail(step string, kind failure.Kind, detail, fix string) {
	d.add(result{status: "FAIL", step: step, detail: detail, fix: fix, kind: kind})
}

// failErr records a failed step with err's kind and hint: the same hint
// the other commands print (sender's connection hints among them).
func (d *doctor) failErr(step string, err error) {
	d.fail(step, failure.KindOf(err), messageFor(err), d.rep.hint(err))
}

func (d *doctor) skip(step, why string) { d.add(result{status: "skip", step: step, detail: why}) }

// print writes the results and returns the exit code of the first failure.
func (d *doctor) print() int {
	code := exitOK
	for _, r := range d.results {
		fmt.Fprintf(d.out, "%-5s %-10s %s\n", r.status, r.step, safetext.OneLine(r.detail))
		if r.fix != "" && r.status != "ok" {
			fmt.Fprintf(d.out, "      %-10s fix: %s\n", "", safetext.OneLine(r.fix))
		}
		if r.status == "FAIL" && code == exitOK {
			code = exitCodeOf(r.kind)
		}
	}
	if d.summary != "" {
		fmt.Fprintf(d.out, "\n%s\n", d.summary)
	}
	return code
}

// run performs the checks.
func (d *doctor) run(ctx context.Context, stdio IO, opts sessionOptions) {
	s, err := newSession(ctx, stdio, opts)
	if err != nil && s == nil && failure.KindOf(err) != failure.Config {
		// A device-code profile without a mailbox needs a token to know
		// whom to send as; check the rest without the sender.
		nopts := opts
		nopts.NoSender = true
		if s2, err2 := newSession(ctx, stdio, nopts); err2 == nil {
			s = s2
		}
	}
	if s == nil {
		d.failErr("config", err)
		for _, st := range doctorSteps()[1:] {
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
	d.warnForeignHosts(s.Cloud, s.SMTPHost, p.AuthorityHost)

	// Refresh, not TokenContext: a cached token would hide a credential
	// that Entra ID no longer accepts (a wrong or expired secret, a
	// replaced certificate, a revoked sign-in). Refresh sends the client
	// credential, or the cached refresh token, to Entra ID.
	tok, err := s.Tokens.Refresh(ctx)
	tokenOK := err == nil
	if err != nil {
		d.failErr("token", s.explain(err))
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
		return
	}
	probe, err := s.Sender.Check(ctx)
	d.network(s, probe, err, tokenOK)
	if roleAt >= 0 {
		r := &d.results[roleAt]
		if err == nil && probe != nil && probe.Authenticated {
			// RBAC for Applications grants SMTP.SendAsApp in Exchange
			// without a role in the token.
			r.status, r.fix = "warn", ""
			r.detail += "; AUTH succeeded, so Exchange grants it another way (RBAC for Applications)"
		} else {
			r.status = "FAIL"
			d.failed++
		}
	}
	if d.failed == 0 {
		d.summary = fmt.Sprintf("All checks passed: profile %s can send as %s.", p.Name, s.Mailbox)
	}
}

// claims checks the token's claims. A missing SMTP.SendAsApp role is
// decided after the AUTH step, because RBAC for Applications grants it in
// Exchange without a role in the token: claims then returns the index of
// a pending result (status "pending"), else -1.
func (d *doctor) claims(s *session, tok *oauth2.Token) int {
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
			return d.add(result{status: "pending", step: "claims", kind: failure.Permission,
				detail: fmt.Sprintf("the token has no SMTP.SendAsApp role (roles: %s)", listOrNone(c.Roles)),
				fix:    "in Entra ID: API permissions → Add → APIs my organization uses → Office 365 Exchange Online → Application permissions → SMTP.SendAsApp, then Grant admin consent"})
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
func (d *doctor) network(s *session, probe *sender.Probe, err error, tokenOK bool) {
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
				d.fail(step, failure.Unavailable, fmt.Sprintf("%s does not offer AUTH XOAUTH2 after STARTTLS (offers: %s)", s.SMTPHost, listOrNone(probe.Mechanisms)),
					joinHints("point smtp_host at Exchange Online (smtp.office365.com) or a server that takes XOAUTH2", d.rep.hint(err)))
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

func networkDetail(step string, s *session, probe *sender.Probe, hostport string) string {
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
func (d *doctor) warnForeignHosts(cloud cloud.Cloud, smtpHost, authorityHost string) {
	for _, h := range []struct{ key, host, microsoft string }{
		{"authority_host", config.HostOf(authorityHost), cloud.AuthorityHost},
		{"smtp_host", config.HostOf(smtpHost), cloud.SMTPHost},
	} {
		if h.host == "" || strings.EqualFold(h.host, h.microsoft) || isLoopback(h.host) {
			continue
		}
		d.add(result{status: "warn", step: "config",
			detail: fmt.Sprintf("%s %s is not Microsoft's (%s): tokens and secrets are sent to %s; make sure it is yours", h.key, h.host, h.microsoft, h.host),
			fix:    fmt.Sprintf("remove %s to use %s, unless %s is your own proxy or private cloud", h.key, h.microsoft, h.host)})
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
