package sender

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
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

// TestWriteToFileNamesCannotInjectHeaders checks that attachment and inline
// file names end up only inside their own, well-formed header fields.
func TestWriteToFileNamesCannotInjectHeaders(t *testing.T) {
	dir := t.TempDir()
	t.Run("control characters refused", func(t *testing.T) {
		evil := filepath.Join(dir, "a.png>\r\nBcc: evil@example.com\r\nX-Evil: <x")
		writeFile(t, evil, []byte("\x89PNG\r\n\x1a\n"))
		var buf bytes.Buffer
		m := &Message{From: testMailbox, To: []string{"a@example.com"}, HTML: `<img src="cid:a.png">`, Inline: []string{evil}}
		_, err := m.WriteTo(&buf)
		if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), "header injection") {
			t.Errorf("WriteTo error = %v, want ErrInvalidMessage (header injection)", err)
		}
		if strings.Contains(buf.String(), "evil@example.com") || strings.Contains(buf.String(), "X-Evil") {
			t.Errorf("injected header written:\n%s", buf.String())
		}
	})
	t.Run("specials quoted", func(t *testing.T) {
		inline := filepath.Join(dir, `lo<go> "x".png`)
		writeFile(t, inline, []byte("\x89PNG\r\n\x1a\n"))
		attach := filepath.Join(dir, `r"; name="evil.exe.pdf`)
		writeFile(t, attach, []byte("%PDF-1.4\n"))
		var buf bytes.Buffer
		m := &Message{From: testMailbox, To: []string{"a@example.com"}, HTML: "<p>x</p>", Inline: []string{inline}, Attachments: []string{attach}}
		if _, err := m.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, buf.Bytes()) // fails on a Content-Type it cannot parse
		allowed := map[string]bool{"Content-Type": true, "Content-Transfer-Encoding": true, "Content-Disposition": true, "Content-Id": true}
		var files int
		for _, pt := range p.parts {
			if pt.ctype != "image/png" && pt.ctype != "application/pdf" {
				continue
			}
			files++
			for k := range pt.header {
				if !allowed[k] {
					t.Errorf("%s part has unexpected header %q", pt.ctype, k)
				}
			}
			if strings.Contains(pt.params["name"], `"`) {
				t.Errorf("%s name parameter %q keeps a quote", pt.ctype, pt.params["name"])
			}
			if _, dp, err := mime.ParseMediaType(pt.header["Content-Disposition"][0]); err != nil || len(dp) != 1 || dp["filename"] == "" {
				t.Errorf("Content-Disposition %q: params %v, %v", pt.header["Content-Disposition"], dp, err)
			}
			if pt.ctype == "image/png" {
				cid := pt.header["Content-Id"]
				if len(cid) != 1 || !strings.HasPrefix(cid[0], "<") || !strings.HasSuffix(cid[0], ">") ||
					strings.ContainsAny(cid[0][1:len(cid[0])-1], "<>\"\\") {
					t.Errorf("Content-ID %q is not one well-formed <id>", cid)
				}
			}
		}
		if files != 2 {
			t.Errorf("parts %v, want the image and the PDF", partTypes(p.parts))
		}
	})
}
