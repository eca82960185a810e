package entratest

import (
	"encoding/json"
	"net/http"

	"github.com/m365send/m365send/token/entratest/internal/aadsts"
)

// writeOAuthError answers with the error JSON for code; args fill the
// description (client ID, tenant, ...).
func (a *Authority) writeOAuthError(w http.ResponseWriter, code int, args ...any) {
	status, body := aadsts.Response(code, args...)
	a.log.Debug("entratest error", "aadsts", code, "error", body["error"])
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client has gone away: nobody to tell
}
