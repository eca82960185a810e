package graph

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/m365send/m365send/internal/failure"
)

// Upload sizes (docs/microsoft.md): an attachment of 3 MB or more goes
// through an upload session in pieces of at most 4 MB (a multiple of
// 320 KiB is used); a smaller one is posted whole.
const (
	uploadSessionMin = 3 << 20
	uploadChunk      = 320 << 10 * 12 // 3.75 MiB
)

// attachment is one part cut out of a large message to be uploaded.
type attachment struct {
	name, contentType, contentID string
	inline                       bool
	data                         []byte
}

// part is one body part of a multipart message, as bytes of the message.
type part struct {
	start, end int // raw[start:end] is the delimiter line through the part's last byte
	header     textproto.MIMEHeader
	body       []byte
}

// sendLarge sends a message over the request limit: its largest
// attachments are cut out, the rest is created as a draft (MIME), the
// attachments are added to it (upload sessions for the large ones), and
// the draft is sent. Graph re-renders the message from the draft, so
// its bytes are not those of the MIME submitted (docs/graph.md).
func (s *Sender) sendLarge(ctx context.Context, p *prepared, sentBefore bool) (bool, error) {
	draftMIME, atts, err := s.split(p.mime)
	if err != nil {
		return false, err
	}
	body, err := s.do(ctx, &request{op: OpDraft, method: http.MethodPost, url: s.base + "/messages",
		contentType: "text/plain", body: []byte(base64.StdEncoding.EncodeToString(draftMIME)), auth: true, once: sentBefore, want: http.StatusCreated})
	if err != nil {
		return false, err
	}
	var draft struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &draft) != nil || draft.ID == "" {
		return false, &Error{Mailbox: s.cfg.Mailbox, Op: OpDraft, Message: "Graph's answer has no message id"}
	}
	msgURL := s.base + "/messages/" + url.PathEscape(draft.ID)
	for _, a := range atts {
		if err := s.attach(ctx, msgURL, a); err != nil {
			s.discard(msgURL)
			return false, err
		}
	}
	r := &request{op: OpSendDft, method: http.MethodPost, url: msgURL + "/send", auth: true, want: http.StatusAccepted}
	if _, err := s.do(ctx, r); err != nil {
		if !r.uncertain {
			s.discard(msgURL)
		}
		return r.uncertain, err
	}
	return r.uncertain, nil
}

// discard deletes a draft that will not be sent, best effort.
func (s *Sender) discard(msgURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	defer cancel()
	if _, err := s.do(ctx, &request{op: OpDraft, method: http.MethodDelete, url: msgURL, auth: true, once: true}); err != nil {
		s.log.Warn("a draft of a message that was not sent is left in Drafts", "error", err)
	}
}

// attach adds a to the draft at msgURL: whole when small, else through an
// upload session.
func (s *Sender) attach(ctx context.Context, msgURL string, a attachment) error {
	if len(a.data) < uploadSessionMin {
		item := map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": a.name,
			"contentType": a.contentType, "contentBytes": a.data, "isInline": a.inline}
		if a.contentID != "" {
			item["contentId"] = a.contentID
		}
		b, _ := json.Marshal(item)
		_, err := s.do(ctx, &request{op: OpAttach, method: http.MethodPost, url: msgURL + "/attachments",
			contentType: "application/json", body: b, auth: true, want: http.StatusCreated})
		return err
	}
	item := map[string]any{"attachmentType": "file", "name": a.name, "size": len(a.data),
		"contentType": a.contentType, "isInline": a.inline}
	if a.contentID != "" {
		item["contentId"] = a.contentID
	}
	b, _ := json.Marshal(map[string]any{"AttachmentItem": item})
	body, err := s.do(ctx, &request{op: OpAttach, method: http.MethodPost, url: msgURL + "/attachments/createUploadSession",
		contentType: "application/json", body: b, auth: true, want: http.StatusCreated})
	if err != nil {
		return err
	}
	var session struct {
		UploadURL string `json:"uploadUrl"`
	}
	if json.Unmarshal(body, &session) != nil || !strings.HasPrefix(session.UploadURL, "https://") {
		return &Error{Mailbox: s.cfg.Mailbox, Op: OpAttach, Message: "Graph's answer has no https uploadUrl"}
	}
	total := len(a.data)
	for off := 0; off < total; off += uploadChunk {
		end := min(off+uploadChunk, total)
		// The upload URL carries its own token: the bearer is not sent.
		if _, err := s.do(ctx, &request{op: OpUpload, method: http.MethodPut, url: session.UploadURL,
			contentType: "application/octet-stream", body: a.data[off:end],
			header: map[string]string{"Content-Range": fmt.Sprintf("bytes %d-%d/%d", off, end-1, total)}}); err != nil {
			return err
		}
	}
	return nil
}

// split cuts the largest attachments out of a multipart/mixed message
// until the rest fits in one request, and returns the rest and them.
func (s *Sender) split(raw []byte) ([]byte, []attachment, error) {
	tooBig := func(why string) error {
		return &Error{Mailbox: s.cfg.Mailbox, Op: OpPrepare, Err: failure.New(failure.BadMessage,
			fmt.Sprintf("the message is %d bytes, over Graph's 4 MB request limit, and %s", len(raw), why),
			"send large files as attachments of a multipart/mixed message (m365send send --attach does), or send over SMTP")}
	}
	hend := headerEnd(raw)
	hdr, err := textproto.NewReader(bufioReader(string(raw[:hend]) + "\r\n")).ReadMIMEHeader()
	if err != nil {
		return nil, nil, tooBig("its header cannot be read")
	}
	mt, params, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, nil, tooBig("it is not multipart/mixed, so it has no attachments to upload apart")
	}
	parts := splitParts(raw, hend, params["boundary"])
	type cand struct {
		i    int
		size int
	}
	var cands []cand
	for i, pt := range parts {
		if isAttachment(pt.header) && strings.EqualFold(strings.TrimSpace(pt.header.Get("Content-Transfer-Encoding")), "base64") {
			cands = append(cands, cand{i, pt.end - pt.start})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return b.size - a.size })
	remove := map[int]bool{}
	size := len(raw)
	for _, c := range cands {
		if base64.StdEncoding.EncodedLen(size) <= s.maxBytes {
			break
		}
		remove[c.i] = true
		size -= c.size
	}
	if base64.StdEncoding.EncodedLen(size) > s.maxBytes {
		return nil, nil, tooBig("what is left without its attachments is still over it")
	}
	var out bytes.Buffer
	var atts []attachment
	prev := 0
	for i, pt := range parts {
		if !remove[i] {
			continue
		}
		// The decoder skips the line breaks of the encoded lines.
		data, err := base64.StdEncoding.DecodeString(string(pt.body))
		if err != nil {
			return nil, nil, tooBig("an attachment's base64 cannot be decoded")
		}
		out.Write(raw[prev:pt.start])
		prev = pt.end
		atts = append(atts, describe(pt.header, data))
	}
	out.Write(raw[prev:])
	return out.Bytes(), atts, nil
}

// splitParts finds the body parts of the multipart message raw whose body
// starts at hend (after the blank line that ends the header).
func splitParts(raw []byte, hend int, boundary string) []part {
	delim := []byte("\r\n--" + boundary)
	var starts []int // offsets of the CRLF before each delimiter line
	for pos := hend; ; {
		i := bytes.Index(raw[pos:], delim)
		if i < 0 {
			break
		}
		at := pos + i
		after := at + len(delim)
		if after+2 <= len(raw) && (string(raw[after:after+2]) == "\r\n" || string(raw[after:after+2]) == "--") {
			starts = append(starts, at)
		}
		pos = after
	}
	var parts []part
	for k := 0; k+1 < len(starts); k++ {
		lineEnd := starts[k] + len(delim) + 2
		seg := raw[lineEnd:starts[k+1]]
		he := bytes.Index(seg, []byte("\r\n\r\n"))
		if he < 0 {
			continue
		}
		h, err := textproto.NewReader(bufioReader(string(seg[:he+4]))).ReadMIMEHeader()
		if err != nil {
			continue
		}
		parts = append(parts, part{start: starts[k], end: starts[k+1], header: h, body: seg[he+4:]})
	}
	return parts
}

// isAttachment reports whether a part is a file: an attachment, or an
// inline part with a file name.
func isAttachment(h textproto.MIMEHeader) bool {
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	return disp == "attachment" || disp == "inline" && params["filename"] != ""
}

// describe gives an uploaded part the name, type and content ID its
// headers give it.
func describe(h textproto.MIMEHeader, data []byte) attachment {
	a := attachment{data: data, contentType: "application/octet-stream"}
	disp, dp, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	ct, cp, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err == nil {
		a.contentType = ct
	}
	a.name = dp["filename"]
	if a.name == "" {
		a.name = cp["name"]
	}
	if a.name == "" {
		a.name = "attachment"
	}
	a.inline = disp == "inline"
	if a.inline {
		a.contentID = strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")
	}
	return a
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
