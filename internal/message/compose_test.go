package message

import (
	"bytes"
	"errors"
	"mime"
	"path/filepath"
	"strings"
	"testing"

	"github.com/m365send/m365send/internal/mimetest"
)

func TestEmptyAttachment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.txt")
	writeFile(t, path, nil)
	var buf bytes.Buffer
	if _, err := (&Message{From: testMailbox, To: []string{"a@example.com"}, Text: "x", Attachments: []string{path}}).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := mimetest.Parse(t, buf.Bytes())
	if len(p.Parts) != 2 || len(p.Parts[1].Body) != 0 || p.Parts[1].Params["name"] != "empty.txt" {
		t.Errorf("parts %v, attachment %q", mimetest.Types(p.Parts), p.Parts[len(p.Parts)-1].Body)
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
		p := mimetest.Parse(t, buf.Bytes()) // fails on a Content-Type it cannot parse
		allowed := map[string]bool{"Content-Type": true, "Content-Transfer-Encoding": true, "Content-Disposition": true, "Content-Id": true}
		var files int
		for _, pt := range p.Parts {
			if pt.Type != "image/png" && pt.Type != "application/pdf" {
				continue
			}
			files++
			for k := range pt.Header {
				if !allowed[k] {
					t.Errorf("%s part has unexpected header %q", pt.Type, k)
				}
			}
			if strings.Contains(pt.Params["name"], `"`) {
				t.Errorf("%s name parameter %q keeps a quote", pt.Type, pt.Params["name"])
			}
			if _, dp, err := mime.ParseMediaType(pt.Header["Content-Disposition"][0]); err != nil || len(dp) != 1 || dp["filename"] == "" {
				t.Errorf("Content-Disposition %q: params %v, %v", pt.Header["Content-Disposition"], dp, err)
			}
			if pt.Type == "image/png" {
				cid := pt.Header["Content-Id"]
				if len(cid) != 1 || !strings.HasPrefix(cid[0], "<") || !strings.HasSuffix(cid[0], ">") ||
					strings.ContainsAny(cid[0][1:len(cid[0])-1], "<>\"\\") {
					t.Errorf("Content-ID %q is not one well-formed <id>", cid)
				}
			}
		}
		if files != 2 {
			t.Errorf("parts %v, want the image and the PDF", mimetest.Types(p.Parts))
		}
	})
}
