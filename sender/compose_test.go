package sender

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpliceWriterAnyChunking(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	content := bytes.Repeat([]byte("0123456789"), 100) // 1000 bytes
	writeFile(t, path, content)
	marker := strings.Repeat("QUJD", 15) // 60 base64 characters
	long := strings.Repeat("x", 200)
	input := "Header: v\r\n\r\n" + long + "\r\n" + marker + "\r\n" + marker + "X\r\n" + "tail"
	for _, chunk := range []int{1, 3, 7, 61, 62, 63, len(input)} {
		var out bytes.Buffer
		sw := &spliceWriter{w: &out, files: map[string]string{marker: path}}
		for in := input; len(in) > 0; {
			n := min(chunk, len(in))
			if _, err := sw.Write([]byte(in[:n])); err != nil {
				t.Fatal(err)
			}
			in = in[n:]
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		enc := base64.StdEncoding.EncodeToString(content)
		var lines []string
		for len(enc) > b64LineLen {
			lines = append(lines, enc[:b64LineLen])
			enc = enc[b64LineLen:]
		}
		lines = append(lines, enc)
		want := "Header: v\r\n\r\n" + long + "\r\n" + strings.Join(lines, "\r\n") + "\r\n" + marker + "X\r\n" + "tail"
		if out.String() != want {
			t.Errorf("chunk %d: output differs:\n%q\nwant\n%q", chunk, out.String(), want)
		}
	}
}

func TestEmptyAttachment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.txt")
	writeFile(t, path, nil)
	var buf bytes.Buffer
	if _, err := (&Message{From: testMailbox, To: []string{"a@example.com"}, Text: "x", Attachments: []string{path}}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, buf.Bytes())
	if len(p.parts) != 2 || len(p.parts[1].body) != 0 || p.parts[1].params["name"] != "empty.txt" {
		t.Errorf("parts %v, attachment %q", partTypes(p.parts), p.parts[len(p.parts)-1].body)
	}
}

func TestAttachmentTypeFromContent(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		content []byte
		want    string
	}{
		"report":    {[]byte("%PDF-1.7\n..."), "application/pdf"},   // no extension: sniffed
		"image.dat": {[]byte("\x89PNG\r\n\x1a\nxxxx"), "image/png"}, // content wins over extension
		"data.json": {[]byte(`{"a": 1}`), "application/json"},       // text: the extension says more
	}
	for name, c := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, c.content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := sniffType(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: type %q, want %q", name, got, c.want)
		}
	}
}
