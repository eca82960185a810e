//go:build linux

package main

// Issue 16, item 4: a large message on standard input is streamed, never
// held in memory, through the real binary.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/sandbox"
	"github.com/m365send/m365send/sender/smtptest"
)

// bigBody is the size of the message body piped in: larger than the
// memory the process may use, below the 150 MB limit.
const bigBody = 120 << 20

// maxRSS is the most memory (peak resident set) the process may take.
const maxRSS = 100 << 20

// pipeMessage writes header and then body octets of CRLF lines of text to w,
// hashing all it writes; it stops early when w fails (the process
// stopped reading).
func pipeMessage(w io.WriteCloser, header string, body int64, h hash.Hash) {
	defer w.Close()
	out := io.MultiWriter(w, h)
	if _, err := io.WriteString(out, header); err != nil {
		return
	}
	var chunk bytes.Buffer
	for i := 0; chunk.Len() < 1<<20; i++ {
		fmt.Fprintf(&chunk, "line %08d: the quick brown fox jumps over the lazy dog, %s\r\n", i, strings.Repeat("x", i%40))
	}
	b := chunk.Bytes()
	for left := body; left > 0; {
		n := int64(len(b))
		if n > left {
			// End on a whole line: the body ends with CRLF.
			n = left
			b = b[:n]
			copy(b[n-2:], "\r\n")
		}
		if _, err := out.Write(b); err != nil {
			return
		}
		left -= n
	}
}

// runBig runs the test binary as m365send (TestMain) with args, piping
// the message in, and returns its exit status, standard error and peak
// resident memory in bytes.
func runBig(t *testing.T, args []string, header string, body int64, h hash.Hash) (int, string, int64) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := &exec.Cmd{Path: exe, Args: args, Stderr: &stderr}
	peakFile := filepath.Join(t.TempDir(), "status")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TMPDIR=" + t.TempDir(), "PEAK_MEMORY_FILE=" + peakFile}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipeMessage(stdin, header, body, h)
	}()
	err = cmd.Wait()
	<-done
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	// Not the rusage of the child: on Linux its peak includes that of the
	// test process it was started from (the memory it shared until exec).
	status, err := os.ReadFile(peakFile)
	if err != nil {
		t.Fatalf("the process did not report its peak memory: %v", err)
	}
	var kb int64 = -1
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
		}
	}
	if kb <= 0 {
		t.Fatalf("no VmHWM in the process's status:\n%s", status)
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), kb * 1024
}

// TestLargeStandardInputIsStreamed pipes a 120 MB message into sendmail
// -t and send --raw -: the server receives exactly the bytes piped in,
// and the process never holds the message (its peak memory stays under
// 100 MB). A message over 150 MB is refused (65) after reading no more,
// with memory as flat.
func TestLargeStandardInputIsStreamed(t *testing.T) {
	skipUnderRace(t)
	if testing.Short() {
		t.Skip("pipes 120 MB three times")
	}
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), SMTP: smtptest.Options{MaxSize: 200 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	// Nothing for sendmail to add or remove: what arrives is what was piped.
	header := "From: " + sandbox.AppMailbox + "\r\nTo: ops@example.com\r\nSubject: big\r\n" +
		"Date: Sun, 29 Nov 2026 12:00:00 +0000\r\nMessage-ID: <big@contoso.com>\r\n\r\n"
	for i, args := range [][]string{
		{"sendmail", "-C", sb.ConfigFile, "-t", "-i"},
		{"m365send", "--config", sb.ConfigFile, "send", "--raw", "-"},
	} {
		h := sha256.New()
		code, stderr, rss := runBig(t, args, header, bigBody, h)
		if code != 0 {
			t.Fatalf("%q: exit %d; stderr:\n%s", args, code, stderr)
		}
		t.Logf("%s: peak memory %d MB", args[0], rss>>20)
		if rss > maxRSS {
			t.Errorf("%q: peak memory %d MB, want under %d MB", args, rss>>20, maxRSS>>20)
		}
		msgs := sb.SMTP.Messages()
		if len(msgs) != i+1 {
			t.Fatalf("%q: the server holds %d messages, want %d", args, len(msgs), i+1)
		}
		got := msgs[i]
		if sum := sha256.Sum256(got.Data); !bytes.Equal(sum[:], h.Sum(nil)) || got.Size != int64(len(header))+bigBody {
			t.Errorf("%q: the server received %d bytes, not the %d piped in (or others)", args, got.Size, int64(len(header))+bigBody)
		}
		if len(got.To) != 1 || got.To[0] != "ops@example.com" {
			t.Errorf("%q: recipients %q", args, got.To)
		}
	}

	// Past 150 MB: refused once 150 MB have been read, nothing sent.
	code, stderr, rss := runBig(t, []string{"sendmail", "-C", sb.ConfigFile, "-t"}, header, 200<<20, sha256.New())
	if code != exitDataErr || !strings.Contains(stderr, "message too large") {
		t.Errorf("200 MB: exit %d, want 65 and the size refused; stderr:\n%s", code, stderr)
	}
	if rss > maxRSS {
		t.Errorf("200 MB refused: peak memory %d MB, want under %d MB", rss>>20, maxRSS>>20)
	}
	if n := len(sb.SMTP.Messages()); n != 2 {
		t.Errorf("the server holds %d messages, want 2", n)
	}
}
