package initconfig

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/failure"
)

const (
	tenant   = "contoso.onmicrosoft.com"
	clientID = "00000000-0000-0000-0000-0000000000aa"
)

// TestRunAsks answers the questions from a reader: a wrong tenant is
// asked again after config's refusal, and the file holds the answers.
func TestRunAsks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m365send", "config.toml")
	answers := strings.Join([]string{
		"",              // who sends: 1, an app
		"not a tenant!", // refused by config, asked again
		clientID,        // client ID
		"3",             // a secret in an environment variable
		"ALERTS_SECRET", // its name
		"alerts@contoso.com",
		tenant, // the tenant again
		"n",    // no doctor
	}, "\n") + "\n"
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{Path: path, Interactive: true, In: strings.NewReader(answers), Out: &out,
		Env: func(k string) string { return map[string]string{"HOME": dir}[k] }})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Doctor || !res.Created || res.Flow != "client_credentials" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(out.String(), `malformed tenant "not a tenant!"`) {
		t.Errorf("the refusal was not shown:\n%s", out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tenant = "` + tenant + `"`, `client_secret_env = "ALERTS_SECRET"`, `mailbox = "alerts@contoso.com"`, `flow = "client_credentials"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the file lacks %s:\n%s", want, b)
		}
	}
}

// TestRunInputEnds: answers that end early write nothing.
func TestRunInputEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	_, err := Run(context.Background(), Options{Path: path, Interactive: true, In: strings.NewReader("1\n" + tenant + "\n")})
	if failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), "the input ended") {
		t.Errorf("err = %v, want a usage error saying the input ended", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was written: %v", err)
	}
}

// TestRunCanceled: an interrupt while an answer is awaited ends Run.
func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	var out syncBuffer
	out.onWrite = func(s string) {
		if strings.Contains(s, "Choose") {
			cancel()
		}
	}
	_, err = Run(ctx, Options{Path: filepath.Join(t.TempDir(), "c.toml"), Interactive: true, In: r, Out: &out})
	if err != context.Canceled {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// syncBuffer calls onWrite with each write.
type syncBuffer struct {
	bytes.Buffer
	onWrite func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.onWrite(string(p))
	return b.Buffer.Write(p)
}
