package sendmail

import (
	"errors"
	"slices"
	"testing"

	"github.com/m365send/m365send/internal/aliases"
)

func TestLocalRecipientsExpandThroughAliases(t *testing.T) {
	opts := &Options{ExtractRecipients: true, LocalNames: true, Recipients: []string{"root"}}
	m, err := Parse([]byte("To: www-data, bob@contoso.com\nSubject: x\n\nhi\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	tab := aliases.Table{"root": {"ops@contoso.com"}, "www-data": {"root", "web@contoso.com"}}
	if err := m.ExpandAliases(tab.Expand); err != nil {
		t.Fatal(err)
	}
	want := []string{"ops@contoso.com", "web@contoso.com", "bob@contoso.com"}
	if !slices.Equal(m.Recipients, want) {
		t.Fatalf("recipients = %q, want %q", m.Recipients, want)
	}
}

func TestUnmappedLocalRecipientIsABadAddress(t *testing.T) {
	m, err := Parse([]byte("Subject: x\n\nhi\n"), &Options{LocalNames: true, Recipients: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	err = m.ExpandAliases(aliases.Table{"root": {"ops@contoso.com"}}.Expand)
	var me *MessageError
	if !errors.As(err, &me) || me.Advice == "" {
		t.Fatalf("err = %v, want a *MessageError with advice", err)
	}
	// Without LocalNames a local name is malformed at once, as before.
	if _, err := Parse([]byte("Subject: x\n\nhi\n"), &Options{Recipients: []string{"alice"}}); !errors.As(err, &me) {
		t.Fatalf("err = %v, want a *MessageError", err)
	}
}

func TestSenderThatIsALocalNameMeansTheMailbox(t *testing.T) {
	for _, f := range []string{"root", "www-data"} {
		m, err := Parse([]byte("Subject: x\n\nhi\n"), &Options{Sender: f, Recipients: []string{"ops@contoso.com"}})
		if err != nil {
			t.Fatalf("-f %s: %v", f, err)
		}
		if got := m.EnvelopeSender("alerts@contoso.com"); got != "alerts@contoso.com" {
			t.Fatalf("-f %s: envelope sender %q, want the mailbox", f, got)
		}
	}
}
