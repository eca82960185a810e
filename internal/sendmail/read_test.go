package sendmail

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadMessage(t *testing.T) {
	long := strings.Repeat("x", 100<<10)
	edge := strings.Repeat("y", 64<<10) // a dot at the buffer boundary is mid-line
	tests := []struct {
		name       string
		in         string
		ignoreDots bool
		want       string
	}{
		{"no dot", "Subject: a\n\nbody\n", false, "Subject: a\n\nbody\n"},
		{"no trailing newline", "Subject: a\n\nbody", false, "Subject: a\n\nbody"},
		{"lone dot ends", "a\n.\nafter\n", false, "a\n"},
		{"lone dot CRLF ends", "a\r\n.\r\nafter\r\n", false, "a\r\n"},
		{"lone dot at EOF", "a\n.", false, "a\n"},
		{"dot alone first", ".\nafter\n", false, ""},
		{"leading dot kept", ".hidden\n..two\n", false, ".hidden\n..two\n"},
		{"dot space kept", "a\n. \nb\n", false, "a\n. \nb\n"},
		{"dot mid line kept", "a.\n.b\n", false, "a.\n.b\n"},
		{"i keeps lone dot", "a\n.\nafter\n", true, "a\n.\nafter\n"},
		{"i keeps CRLF dot", "a\r\n.\r\nb\r\n", true, "a\r\n.\r\nb\r\n"},
		{"long line then dot", long + "\n.\nz", false, long + "\n"},
		{"dot after buffer boundary is mid-line", edge + ".\nz\n", false, edge + ".\nz\n"},
		{"empty", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadMessage(strings.NewReader(tt.in), tt.ignoreDots)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("ReadMessage(%.40q, %v) = %.60q, want %.60q", tt.in, tt.ignoreDots, got, tt.want)
			}
		})
	}
}

var errBroken = errors.New("broken pipe")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errBroken }

// TestReadMessageStopsAtDot checks that nothing past the dot line is read,
// so an interactive caller that keeps its end open is not kept waiting.
func TestReadMessageStopsAtDot(t *testing.T) {
	r := io.MultiReader(strings.NewReader("Subject: x\n\nhi\n.\n"), failingReader{})
	got, err := ReadMessage(r, false)
	if err != nil {
		t.Fatalf("read past the dot line: %v", err)
	}
	if string(got) != "Subject: x\n\nhi\n" {
		t.Errorf("got %q", got)
	}
}

func TestReadMessageError(t *testing.T) {
	for _, ignoreDots := range []bool{false, true} {
		r := io.MultiReader(strings.NewReader("Subject: x\n"), failingReader{})
		if _, err := ReadMessage(r, ignoreDots); !errors.Is(err, errBroken) {
			t.Errorf("ignoreDots=%v: err = %v, want %v", ignoreDots, err, errBroken)
		}
	}
}

// endless is an endless reader of 'x' bytes with a newline every 1000.
type endless struct{ n int }

func (z *endless) Read(p []byte) (int, error) {
	for i := range p {
		z.n++
		if z.n%1000 == 0 {
			p[i] = '\n'
		} else {
			p[i] = 'x'
		}
	}
	return len(p), nil
}

func TestReadMessageTooLarge(t *testing.T) {
	// Exactly the limit is fine.
	in := strings.Repeat("y", 100<<10)
	if b, err := readLimited(strings.NewReader(in), false, 100<<10); err != nil || len(b) != len(in) {
		t.Errorf("a message of exactly the limit: %d bytes, %v", len(b), err)
	}
	for _, ignoreDots := range []bool{false, true} {
		_, err := readLimited(&endless{}, ignoreDots, 100<<10)
		var me *MessageError
		if !errors.As(err, &me) || !strings.Contains(me.Msg, "too large") {
			t.Errorf("ignoreDots=%v: err = %v, want a too-large *MessageError", ignoreDots, err)
		}
	}
}
