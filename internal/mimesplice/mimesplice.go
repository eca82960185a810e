// Package mimesplice streams attachments into a message without holding
// them in memory: internal/message's composer puts a random marker line in
// place of each file's base64 body, and Writer replaces each marker line
// with the base64 of its file as the message text goes out.
package mimesplice

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// NewWriter returns a Writer onto w for files (base64 marker → file path).
func NewWriter(w io.Writer, files map[string]string) *Writer {
	return &Writer{w: w, files: files}
}

// MarkerLen is the marker's raw size: 45 bytes encode to exactly 60
// base64 characters, one line with no padding.
const MarkerLen = 45

// LineLen is the line length of the base64 body (RFC 2045 allows 76).
const LineLen = 76

// SniffType detects a file's MIME type from its first 512 bytes, using the
// extension when the content says no more than "text" or "binary".
func SniffType(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head [512]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	ct := http.DetectContentType(head[:n])
	if strings.HasPrefix(ct, "application/octet-stream") || strings.HasPrefix(ct, "text/plain") {
		if byExt := mime.TypeByExtension(filepath.Ext(path)); byExt != "" {
			ct = byExt
		}
	}
	// go-mail appends `; name="..."` itself.
	return ct, nil
}

// Writer passes go-mail's output through, replacing each marker
// line with the base64 of its file. It buffers at most one line start.
type Writer struct {
	w       io.Writer
	files   map[string]string // base64 marker → file path
	line    []byte            // start of the current line, while it may be a marker
	passing bool              // the current line cannot be a marker: pass it on
}

// maxMarkerLine is a marker line with its CRLF.
const maxMarkerLine = 60 + 2

// Write passes p on, splicing in the files of the marker lines it holds.
func (s *Writer) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if s.passing {
			end := len(p)
			if i >= 0 {
				end = i + 1
				s.passing = false
			}
			if _, err := s.w.Write(p[:end]); err != nil {
				return 0, err
			}
			p = p[end:]
			continue
		}
		end := len(p)
		if i >= 0 {
			end = i + 1
		}
		s.line = append(s.line, p[:end]...)
		p = p[end:]
		switch {
		case i >= 0:
			if err := s.flushLine(); err != nil {
				return 0, err
			}
		case len(s.line) > maxMarkerLine:
			if _, err := s.w.Write(s.line); err != nil {
				return 0, err
			}
			s.line = s.line[:0]
			s.passing = true
		}
	}
	return total, nil
}

// flushLine writes a complete line, or the file its marker stands for.
func (s *Writer) flushLine() error {
	defer func() { s.line = s.line[:0] }()
	if len(s.line) <= maxMarkerLine {
		key := strings.TrimRight(string(s.line), "\r\n")
		if path, ok := s.files[key]; ok {
			return writeBase64File(s.w, path)
		}
	}
	_, err := s.w.Write(s.line)
	return err
}

// Close writes what is left of a last line without a newline.
func (s *Writer) Close() error {
	if len(s.line) == 0 {
		return nil
	}
	_, err := s.w.Write(s.line)
	s.line = s.line[:0]
	return err
}

// writeBase64File streams path as base64 in CRLF-terminated lines.
func writeBase64File(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("attachment: %w", err)
	}
	defer f.Close()
	lw := &lineWriter{w: bufio.NewWriterSize(w, 32*1024)}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, f); err != nil {
		return fmt.Errorf("attachment %s: %w", filepath.Base(path), err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	if lw.col > 0 {
		if _, err := lw.w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return lw.w.Flush()
}

// lineWriter breaks a byte stream into LineLen-character CRLF lines.
type lineWriter struct {
	w   *bufio.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		n := min(LineLen-l.col, len(p))
		if _, err := l.w.Write(p[:n]); err != nil {
			return 0, err
		}
		l.col += n
		p = p[n:]
		if l.col == LineLen {
			if _, err := l.w.WriteString("\r\n"); err != nil {
				return 0, err
			}
			l.col = 0
		}
	}
	return total, nil
}
