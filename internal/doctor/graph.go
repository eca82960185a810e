package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/m365send/m365send/config"
	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/internal/session"
	"github.com/m365send/m365send/token"
)

// graphStep checks the other transport, Microsoft Graph (docs/graph.md):
// a fresh Graph token and its claims (audience, Mail.Send). Sending needs
// no more than that from Graph, and there is no call that proves the
// mailbox without sending, so the step stops there. It is a failure only
// when the profile's transport is graph (or auto with SMTP failing);
// otherwise a warning that says what Graph would need.
func (d *Report) graphStep(ctx context.Context, s *session.Session, smtpOK bool) {
	p := s.Profile
	needed := p.Transport == config.TransportGraph || p.Transport == config.TransportAuto && !smtpOK
	problem := func(detail, fix string) {
		st := Warn
		if needed {
			st = Fail
		}
		d.add(Result{Status: st, Step: "graph", Kind: failure.Permission, Detail: detail, Fix: fix})
	}
	if s.GraphTokens == nil {
		d.skip("graph", "needs a token source")
		return
	}
	tok, err := s.GraphTokens.Refresh(ctx)
	if err != nil {
		st := Warn
		if needed {
			st = Fail
		}
		d.add(Result{Status: st, Step: "graph", Kind: failure.KindOf(err), Err: s.Explain(err)})
		return
	}
	c, err := token.ParseClaims(tok.AccessToken)
	if err != nil {
		problem("the Graph token cannot be decoded: "+err.Error(), "check authority_host and cloud")
		return
	}
	want := "https://" + s.Cloud.GraphHost
	if !strings.EqualFold(strings.TrimRight(c.Audience, "/"), want) && c.Audience != "00000003-0000-0000-c000-000000000000" {
		problem(fmt.Sprintf("the Graph token's audience is %q, not %s", c.Audience, want), "check cloud and authority_host")
		return
	}
	perms := c.Roles
	kind := "application permission"
	if p.Flow == config.FlowDeviceCode {
		perms, kind = c.Scopes, "delegated permission"
	}
	if !slices.Contains(perms, "Mail.Send") {
		problem(fmt.Sprintf("the Graph token has no Mail.Send (%s: %s)", kind, listOrNone(perms)),
			"in Entra ID: API permissions → Add → Microsoft Graph → "+kind+" Mail.Send, then Grant admin consent (see docs/graph.md)")
		return
	}
	detail := fmt.Sprintf("Microsoft Graph token with Mail.Send (%s)", kind)
	if slices.Contains(perms, "Mail.ReadWrite") {
		detail += " and Mail.ReadWrite (messages over 4 MB)"
	} else {
		detail += "; messages over 4 MB would also need Mail.ReadWrite"
	}
	switch p.Transport {
	case config.TransportSMTP:
		detail += `; set transport = "graph" or "auto" to send through Graph`
	case config.TransportAuto:
		detail += "; transport auto switches to it when SMTP AUTH is disabled"
	}
	d.ok("graph", detail)
}
