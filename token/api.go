package token

import (
	"fmt"

	"github.com/m365send/m365send/internal/cloud"
)

// API is the Microsoft service a Source gets tokens for. One profile may
// have a Source for each; they share the profile's cache file, which
// keeps one access token per resource (MSAL keys them by scope).
type API string

// The APIs.
const (
	// APIExchange is Exchange Online (SMTP AUTH): the app-only scope
	// https://outlook.office365.com/.default (SMTP.SendAsApp) or the
	// delegated SMTP.Send.
	APIExchange API = ""
	// APIGraph is Microsoft Graph: the app-only scope
	// https://graph.microsoft.com/.default (application permission
	// Mail.Send) or the delegated Mail.Send.
	APIGraph API = "graph"
)

// scopes returns the scopes of api in cloud cl for flow.
func (api API) scopes(cl cloud.Cloud, flow Flow) ([]string, error) {
	switch api {
	case APIExchange:
		if flow == FlowClientCredentials {
			return []string{cl.AppScope()}, nil
		}
		return []string{cl.DelegatedScope()}, nil
	case APIGraph:
		if flow == FlowClientCredentials {
			return []string{cl.GraphAppScope()}, nil
		}
		return []string{cl.GraphDelegatedScope()}, nil
	}
	return nil, fmt.Errorf("token: unknown API %q (want APIExchange or APIGraph)", string(api))
}
