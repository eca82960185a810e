package entratest

import (
	"testing"

	"github.com/m365send/m365send/token/entratest/internal/scope"
)

// The scope rules in internal/scope name the permissions and the resource
// that this package exports; they must be the same strings.
func TestScopeRulesUseTheExportedNames(t *testing.T) {
	for _, c := range []struct{ internal, exported string }{
		{scope.SMTPSend, DelegatedScope},
		{scope.GraphSend, GraphSendRole},
		{scope.GraphReadWrite, GraphReadWriteRole},
		{scope.GlobalExchange, DefaultResource},
	} {
		if c.internal != c.exported {
			t.Errorf("internal/scope says %q where the package exports %q", c.internal, c.exported)
		}
	}
}
