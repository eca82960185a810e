// Package discovery is what the fake Entra ID (token/entratest) publishes
// about a tenant for clients to find it: the OpenID Connect discovery
// document, with the endpoints MSAL uses.
package discovery

import "strings"

// MultiTenant reports whether tenant is one of the path segments that
// stand for no one tenant (common, organizations, consumers).
func MultiTenant(tenant string) bool {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

// Document is the discovery document of tenant (the path segment asked
// for) at the authority at url; tid is the tenant's ID, which the issuer
// names ({tenantid} for a multi-tenant segment).
func Document(url, tenant, tid string) map[string]any {
	base := url + "/" + tenant
	if MultiTenant(tenant) {
		tid = "{tenantid}"
	}
	return map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                url + "/" + tid + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "entratest",
	}
}
