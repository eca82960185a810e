package main

import (
	"encoding/json"
	"testing"
)

// TestRawEnvelopeSender checks, end to end, that `sendmail` and
// `send --raw` choose the same envelope sender for the same message: -f
// (or --from) when given, else the profile's mailbox — never the
// message's own From header, which is what the recipient sees.
func TestRawEnvelopeSender(t *testing.T) {
	bin, symlink := sendmailBinary(t)
	w := newSMWorld(t)
	// A From header naming an address the mailbox may send as.
	const withFrom = "From: Ops <" + smSendAs + ">\nTo: ann@example.com\nSubject: raw\n\nbody\n"
	const noFrom = "To: ann@example.com\nSubject: raw\n\nbody\n"
	tests := []struct {
		name     string
		prog     string
		args     []string
		in       string
		wantFrom string // MAIL FROM
		wantHdr  string // From header received
	}{
		{"sendmail: From header, no -f", symlink, []string{"-C", w.config, "-t"}, withFrom, smMailbox, "Ops <" + smSendAs + ">"},
		{"sendmail: From header and -f", symlink, []string{"-C", w.config, "-t", "-f", smSendAs}, withFrom, smSendAs, "Ops <" + smSendAs + ">"},
		{"send --raw: From header, no --from", bin, []string{"--config", w.config, "send", "--raw", "-"}, withFrom, smMailbox, "Ops <" + smSendAs + ">"},
		{"send --raw: From header and --from", bin, []string{"--config", w.config, "send", "--raw", "-", "--from", smSendAs}, withFrom, smSendAs, "Ops <" + smSendAs + ">"},
		{"send --raw: no From header, --from", bin, []string{"--config", w.config, "send", "--raw", "-", "--from", smSendAs}, noFrom, smSendAs, `"Contoso Alerts" <` + smSendAs + ">"},
		{"send --raw: no From header, no --from", bin, []string{"--config", w.config, "send", "--raw", "-"}, noFrom, smMailbox, `"Contoso Alerts" <` + smMailbox + ">"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := w.run(t, tt.prog, tt.args, tt.in)
			if res.code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
			}
			got := w.received(t, i+1)
			if got.From != tt.wantFrom {
				t.Errorf("MAIL FROM = %q, want %q", got.From, tt.wantFrom)
			}
			if len(got.To) != 1 || got.To[0] != "ann@example.com" {
				t.Errorf("RCPT TO = %q, want [ann@example.com]", got.To)
			}
			if h := header(t, got.Data).Get("From"); h != tt.wantHdr {
				t.Errorf("From header = %q, want %q", h, tt.wantHdr)
			}
		})
	}

	// --json reports the envelope sender.
	t.Run("send --raw --json", func(t *testing.T) {
		res := w.run(t, bin, []string{"--config", w.config, "send", "--raw", "-", "--json"}, withFrom)
		if res.code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
		}
		var out struct {
			Status string `json:"status"`
			From   string `json:"from"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			t.Fatalf("stdout %q: %v", res.stdout, err)
		}
		got := w.received(t, len(tests)+1)
		if out.Status != "sent" || out.From != smMailbox || got.From != smMailbox {
			t.Errorf("--json %+v, MAIL FROM %q; want sent from %s", out, got.From, smMailbox)
		}
	})
}
