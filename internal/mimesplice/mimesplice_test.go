package mimesplice

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
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	marker := strings.Repeat("QUJD", 15) // 60 base64 characters
	long := strings.Repeat("x", 200)
	input := "Header: v\r\n\r\n" + long + "\r\n" + marker + "\r\n" + marker + "X\r\n" + "tail"
	for _, chunk := range []int{1, 3, 7, 61, 62, 63, len(input)} {
		var out bytes.Buffer
		sw := NewWriter(&out, map[string]string{marker: path})
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
		for len(enc) > LineLen {
			lines = append(lines, enc[:LineLen])
			enc = enc[LineLen:]
		}
		lines = append(lines, enc)
		want := "Header: v\r\n\r\n" + long + "\r\n" + strings.Join(lines, "\r\n") + "\r\n" + marker + "X\r\n" + "tail"
		if out.String() != want {
			t.Errorf("chunk %d: output differs:\n%q\nwant\n%q", chunk, out.String(), want)
		}
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
		got, err := SniffType(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: type %q, want %q", name, got, c.want)
		}
	}
}
