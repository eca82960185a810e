package deliveryerr

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
	"github.com/m365send/m365send/sender"
)

// A stored failure keeps its kind by name, and a kind this build does not
// know reads back as Internal.
func TestJSONKeepsTheKindByName(t *testing.T) {
	in := &Failure{Category: failure.Quota, Code: 554, Enhanced: "5.2.0", Text: "quota", Advice: "wait"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"kind":"`+failure.Quota.String()+`"`) {
		t.Errorf("JSON %s does not name the kind", b)
	}
	var out Failure
	if err := json.Unmarshal(b, &out); err != nil || out != *in {
		t.Fatalf("read back %+v, %v; want %+v", out, err, *in)
	}
	if err := json.Unmarshal([]byte(`{"kind":"no-such-kind","text":"x"}`), &out); err != nil || out.Category != failure.Internal {
		t.Errorf("unknown kind read as %v, %v; want Internal", out.Category, err)
	}
}

// Of keeps the SMTP reply of a wrapped *sender.Error, and makes its text
// one line.
func TestOfKeepsTheReply(t *testing.T) {
	se := &sender.Error{Code: 550, EnhancedCode: "5.1.10", Text: "Recipient not found\r\nsecond line"}
	f := Of(fmt.Errorf("deliver: %w", se))
	if f.Code != 550 || f.Enhanced != "5.1.10" || f.Text != "Recipient not found; second line" {
		t.Errorf("Of = %+v", f)
	}
	if got := f.Error(); got != "550 5.1.10 Recipient not found; second line" {
		t.Errorf("Error() = %q", got)
	}
	if Of(nil) != nil {
		t.Error("Of(nil) is not nil")
	}
}
