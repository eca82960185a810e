// Package graphtest is a fake Microsoft Graph mail endpoint for tests: an
// HTTPS server on the loopback interface (certificate from a throwaway
// CA, like sender/smtptest and token/entratest) that answers sendMail with
// MIME, drafts, attachments, upload sessions and send as Graph does, and
// records what it was sent.
//
// It checks each bearer token with Options.Verify, which
// (*entratest.Authority).VerifyGraph implements (audience, Mail.Send or
// Mail.ReadWrite, the mailbox), and plays the answers a client must
// handle: 429 and 503 with Retry-After, and Graph's error codes (see
// Fault). Like Exchange, it takes a message's recipients from its To, Cc
// and Bcc headers and removes the Bcc header from the copy it records. It
// is not a Graph implementation: it knows only the requests package graph
// makes.
package graphtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/m365send/m365send/internal/testca"
)

// Operations, for Fault.Op and Requests.
const (
	OpSendMail = "sendMail"
	OpDraft    = "create draft"
	OpAttach   = "attach"
	OpUpload   = "upload"
	OpSend     = "send draft"
)

// Permissions a token must carry (application role or delegated scope).
const (
	PermSend      = "Mail.Send"
	PermReadWrite = "Mail.ReadWrite"
)

// Limits, as Graph has them (docs/microsoft.md).
const (
	// MaxRequestBytes is the largest request body taken (4 MB); larger
	// ones get 413.
	MaxRequestBytes = 4 << 20
	// DefaultMaxMessage is the largest message sent (35 MB, Exchange
	// Online's default); larger ones get ErrorMessageSizeExceeded.
	DefaultMaxMessage = 35 << 20
)

// Options configures a Server. Every zero value is a working default.
type Options struct {
	// Certificate, if set, is the certificate the server presents (give
	// the fakes of one test the same one to trust one CA); nil: a fresh
	// throwaway CA.
	Certificate *tls.Certificate
	// Verify checks a bearer token for a mailbox and a permission
	// (PermSend or PermReadWrite). (*entratest.Authority).VerifyGraph has
	// this signature. An error whose text names the audience (or any
	// other token fault) answers 401 InvalidAuthenticationToken; one
	// naming the permission or the mailbox answers 403 ErrorAccessDenied.
	// nil accepts any non-empty token.
	Verify func(accessToken, mailbox, perm string) error
	// SendAs lists, per mailbox (lower case), the From addresses it may
	// use besides its own; another gets 403 ErrorSendAsDenied.
	SendAs map[string][]string
	// MaxMessage is the largest message sent (default DefaultMaxMessage).
	MaxMessage int
	// Faults are answered instead of the real answer, in order (see
	// AddFault).
	Faults []Fault
	// OnRequest, if set, is called for each request to a mailbox while it
	// counts as in flight, before it is answered; a test may block in it.
	OnRequest func(mailbox, op string)
	// Logger receives one line per request (nil: discard). Never tokens.
	Logger *slog.Logger
}

// Fault is an answer played instead of the real one.
type Fault struct {
	// Op is the request it answers (OpSendMail, ...; "" any).
	Op string
	// Mailbox limits it to one mailbox ("" any).
	Mailbox string
	// Status, Code and Message make the answer, as Graph sends errors:
	// {"error": {"code": Code, "message": Message}}.
	Status  int
	Code    string
	Message string
	// RetryAfter, if set, is sent as the Retry-After header (seconds or
	// an HTTP date).
	RetryAfter string
	// Times is how many requests get it (0: every one).
	Times int
}

// Attachment is a file added to a draft.
type Attachment struct {
	Name        string
	ContentType string
	ContentID   string
	Inline      bool
	Data        []byte
	// Session reports that it came through an upload session.
	Session bool
}

// Message is a message Graph accepted for delivery.
type Message struct {
	// Seq is its place among those accepted (1 for the first).
	Seq int
	// Mailbox is the mailbox that sent it.
	Mailbox string
	// Recipients are the addresses of its To, Cc and Bcc headers, in
	// that order, as Graph delivers to them.
	Recipients []string
	// Data is the MIME message as recorded: the bytes submitted without
	// their Bcc header (for a draft, the draft's MIME).
	Data []byte
	// Attachments were added to its draft (none for a sendMail).
	Attachments []Attachment
	// Draft reports that it was sent from a draft.
	Draft bool
}

type draft struct {
	mailbox     string
	mime        []byte
	attachments []Attachment
}

type session struct {
	mailbox, msgID, secret string
	att                    Attachment
	size                   int
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	opts Options
	ca   *testca.CA
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger

	mu       sync.Mutex
	faults   []*Fault
	messages []Message
	drafts   map[string]*draft
	sessions map[string]*session
	inFlight map[string]int
	peak     map[string]int
	requests map[string]int
	nextID   int
}

// New starts a server on 127.0.0.1.
func New(opts Options) (*Server, error) {
	ca, err := testca.NewOrFrom(opts.Certificate)
	if err != nil {
		return nil, fmt.Errorf("graphtest: %w", err)
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("graphtest: listen: %w", err)
	}
	s := &Server{opts: opts, ca: ca, ln: ln, log: log,
		drafts: map[string]*draft{}, sessions: map[string]*session{},
		inFlight: map[string]int{}, peak: map[string]int{}, requests: map[string]int{}}
	for _, f := range opts.Faults {
		s.AddFault(f)
	}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), TLSConfig: ca.ServerTLSConfig(), ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }()
	return s, nil
}

// URL is the endpoint to give package graph: "https://127.0.0.1:port/v1.0".
func (s *Server) URL() string { return "https://" + s.ln.Addr().String() + "/v1.0" }

// CACertPEM is the PEM certificate of the CA clients must trust.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.CertPEM...) }

// RootCAs is a pool holding that CA.
func (s *Server) RootCAs() *x509.CertPool { return s.ca.Pool.Clone() }

// Close stops the server.
func (s *Server) Close() { _ = s.srv.Close() }

// AddFault adds a fault after those already set.
func (s *Server) AddFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Requests returns how many requests of op (any op for "") were made.
func (s *Server) Requests(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op != "" {
		return s.requests[op]
	}
	n := 0
	for _, c := range s.requests {
		n += c
	}
	return n
}

// PeakInFlight returns the most requests for mailbox in flight at once.
func (s *Server) PeakInFlight(mailbox string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak[strings.ToLower(mailbox)]
}

// Drafts returns how many drafts exist (created, not sent or deleted).
func (s *Server) Drafts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.drafts)
}

// fault returns the first fault matching op and mailbox, using it up.
func (s *Server) fault(op, mailbox string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Op == "" || f.Op == op) && (f.Mailbox == "" || strings.EqualFold(f.Mailbox, mailbox)) {
			c := *f
			if f.Times > 0 {
				f.Times--
				if f.Times == 0 {
					s.faults = append(s.faults[:i], s.faults[i+1:]...)
				}
			}
			return &c
		}
	}
	return nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(v)
	_, _ = w.Write(b)
}

// route splits a path "/v1.0/users/{mailbox}/..." into the mailbox and
// the rest; an upload is "/upload/{session}".
func route(path string) (mailbox string, rest []string, ok bool) {
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(p) >= 3 && p[0] == "v1.0" && p[1] == "users" {
		return p[2], p[3:], true
	}
	return "", nil, false
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(parts) == 2 && parts[0] == "upload" && r.Method == http.MethodPut {
		s.upload(w, r, parts[1])
		return
	}
	mailbox, rest, ok := route(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusNotFound, "ResourceNotFound", "Resource not found for the segment.")
		return
	}
	var op, perm string
	switch {
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "sendMail":
		op, perm = OpSendMail, PermSend
	case r.Method == http.MethodPost && len(rest) == 1 && rest[0] == "messages":
		op, perm = OpDraft, PermReadWrite
	case r.Method == http.MethodDelete && len(rest) == 2 && rest[0] == "messages":
		op, perm = "delete", PermReadWrite
	case r.Method == http.MethodPost && len(rest) == 3 && rest[0] == "messages" && rest[2] == "send":
		op, perm = OpSend, PermSend
	case r.Method == http.MethodPost && len(rest) >= 3 && rest[0] == "messages" && rest[2] == "attachments":
		op, perm = OpAttach, PermReadWrite
	default:
		writeError(w, http.StatusBadRequest, "BadRequest", "Unsupported request.")
		return
	}
	if m, err := unescape(mailbox); err == nil {
		mailbox = m
	}
	done := s.enter(mailbox, op)
	defer done()
	s.log.Debug("graphtest request", "op", op, "mailbox", mailbox)
	if f := s.fault(op, mailbox); f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(w, f.Status, f.Code, f.Message)
		return
	}
	auth := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(auth, "Bearer ")
	if !found || token == "" {
		writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	}
	if s.opts.Verify != nil {
		if err := s.opts.Verify(token, mailbox, perm); err != nil {
			msg := err.Error()
			if strings.Contains(msg, "permission:") || strings.Contains(msg, "mailbox:") {
				writeError(w, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
				return
			}
			writeError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "The request body could not be read.")
		return
	}
	if len(body) > MaxRequestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request is too large.")
		return
	}
	switch op {
	case OpSendMail:
		s.sendMail(w, r, mailbox, body)
	case OpDraft:
		s.createDraft(w, r, mailbox, body)
	case OpSend:
		s.sendDraft(w, mailbox, rest[1])
	case OpAttach:
		s.attach(w, mailbox, rest, body)
	case "delete":
		s.mu.Lock()
		delete(s.drafts, rest[1])
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// enter counts a request in flight for mailbox; the returned func ends it.
func (s *Server) enter(mailbox, op string) func() {
	key := strings.ToLower(mailbox)
	s.mu.Lock()
	s.requests[op]++
	s.inFlight[key]++
	s.peak[key] = max(s.peak[key], s.inFlight[key])
	s.mu.Unlock()
	if s.opts.OnRequest != nil {
		s.opts.OnRequest(mailbox, op)
	}
	return func() {
		s.mu.Lock()
		s.inFlight[key]--
		s.mu.Unlock()
	}
}

// decodeMIME checks the Content-Type and base64 of a MIME submission.
func decodeMIME(w http.ResponseWriter, r *http.Request, body []byte) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/plain") {
		writeError(w, http.StatusBadRequest, "ErrorInvalidRequest", "Only MIME (Content-Type: text/plain) is supported by this fake.")
		return nil, false
	}
	mime, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(body), nil)))
	if err != nil || len(mime) == 0 {
		writeError(w, http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
		return nil, false
	}
	return mime, true
}

// check reads the recipients and checks the From of a MIME message, as
// Exchange does before it takes it; it answers the error itself.
func (s *Server) check(w http.ResponseWriter, mailbox string, mime []byte, size int) ([]string, bool) {
	if size > s.opts.MaxMessage {
		writeError(w, http.StatusBadRequest, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.")
		return nil, false
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mime))
	if err != nil {
		writeError(w, http.StatusBadRequest, "ErrorMimeContentInvalid", "The MIME content is invalid.")
		return nil, false
	}
	var rcpts []string
	for _, field := range []string{"To", "Cc", "Bcc"} {
		if msg.Header.Get(field) == "" {
			continue
		}
		list, err := msg.Header.AddressList(field)
		if err != nil {
			writeError(w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid.")
			return nil, false
		}
		for _, a := range list {
			rcpts = append(rcpts, a.Address)
		}
	}
	if len(rcpts) == 0 {
		writeError(w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid., A message can't be sent because it contains no recipients.")
		return nil, false
	}
	if from, err := msg.Header.AddressList("From"); err == nil && len(from) == 1 && !strings.EqualFold(from[0].Address, mailbox) {
		ok := false
		for _, a := range s.opts.SendAs[strings.ToLower(mailbox)] {
			ok = ok || strings.EqualFold(a, from[0].Address)
		}
		if !ok {
			writeError(w, http.StatusForbidden, "ErrorSendAsDenied", "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account.")
			return nil, false
		}
	}
	return rcpts, true
}

func (s *Server) sendMail(w http.ResponseWriter, r *http.Request, mailbox string, body []byte) {
	mime, ok := decodeMIME(w, r, body)
	if !ok {
		return
	}
	rcpts, ok := s.check(w, mailbox, mime, len(mime))
	if !ok {
		return
	}
	s.record(Message{Mailbox: mailbox, Recipients: rcpts, Data: StripBcc(mime)})
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Seq = len(s.messages) + 1
	s.messages = append(s.messages, m)
}

func (s *Server) createDraft(w http.ResponseWriter, r *http.Request, mailbox string, body []byte) {
	mime, ok := decodeMIME(w, r, body)
	if !ok {
		return
	}
	s.mu.Lock()
	s.nextID++
	id := "AAMkAD" + strconv.Itoa(s.nextID) + "="
	s.drafts[id] = &draft{mailbox: mailbox, mime: mime}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "isDraft": true})
}

func (s *Server) draft(w http.ResponseWriter, mailbox, id string) *draft {
	if id, err := unescape(id); err == nil {
		s.mu.Lock()
		d := s.drafts[id]
		s.mu.Unlock()
		if d != nil && strings.EqualFold(d.mailbox, mailbox) {
			return d
		}
	}
	writeError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
	return nil
}

func (s *Server) attach(w http.ResponseWriter, mailbox string, rest []string, body []byte) {
	d := s.draft(w, mailbox, rest[1])
	if d == nil {
		return
	}
	if len(rest) == 4 && rest[3] == "createUploadSession" {
		var req struct {
			AttachmentItem struct {
				AttachmentType string `json:"attachmentType"`
				Name           string `json:"name"`
				Size           int    `json:"size"`
				ContentType    string `json:"contentType"`
				IsInline       bool   `json:"isInline"`
				ContentID      string `json:"contentId"`
			} `json:"AttachmentItem"`
		}
		if json.Unmarshal(body, &req) != nil || req.AttachmentItem.AttachmentType != "file" || req.AttachmentItem.Name == "" || req.AttachmentItem.Size <= 0 {
			writeError(w, http.StatusBadRequest, "ErrorInvalidRequest", "AttachmentItem needs attachmentType file, a name and a size.")
			return
		}
		it := req.AttachmentItem
		s.mu.Lock()
		s.nextID++
		sid := "session" + strconv.Itoa(s.nextID)
		secret := fmt.Sprintf("tok%d", s.nextID*7919)
		s.sessions[sid] = &session{mailbox: mailbox, msgID: rest[1], secret: secret, size: it.Size,
			att: Attachment{Name: it.Name, ContentType: it.ContentType, ContentID: it.ContentID, Inline: it.IsInline, Session: true}}
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{
			"uploadUrl":          "https://" + s.ln.Addr().String() + "/upload/" + sid + "?authtoken=" + secret,
			"expirationDateTime": "2099-01-01T00:00:00Z", "nextExpectedRanges": []string{"0-"}})
		return
	}
	if len(rest) != 3 {
		writeError(w, http.StatusBadRequest, "BadRequest", "Unsupported request.")
		return
	}
	var fa struct {
		Type         string `json:"@odata.type"`
		Name         string `json:"name"`
		ContentType  string `json:"contentType"`
		ContentBytes []byte `json:"contentBytes"`
		IsInline     bool   `json:"isInline"`
		ContentID    string `json:"contentId"`
	}
	if json.Unmarshal(body, &fa) != nil || fa.Type != "#microsoft.graph.fileAttachment" || fa.Name == "" {
		writeError(w, http.StatusBadRequest, "ErrorInvalidRequest", "A fileAttachment needs a name and contentBytes.")
		return
	}
	s.mu.Lock()
	d.attachments = append(d.attachments, Attachment{Name: fa.Name, ContentType: fa.ContentType, ContentID: fa.ContentID, Inline: fa.IsInline, Data: fa.ContentBytes})
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"id": "att", "name": fa.Name})
}

// upload takes one range of an upload session; it needs no bearer token
// (the URL carries its own) and refuses one given anyway, since a client
// must not send its Graph token to the upload host.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, sid string) {
	s.mu.Lock()
	ss := s.sessions[sid]
	s.mu.Unlock()
	if ss == nil || r.URL.Query().Get("authtoken") != ss.secret {
		writeError(w, http.StatusNotFound, "ErrorItemNotFound", "The upload session was not found.")
		return
	}
	done := s.enter(ss.mailbox, OpUpload)
	defer done()
	if f := s.fault(OpUpload, ss.mailbox); f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(w, f.Status, f.Code, f.Message)
		return
	}
	if r.Header.Get("Authorization") != "" {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "An upload URL carries its own token; an Authorization header is not expected.")
		return
	}
	var start, end, total int
	if _, err := fmt.Sscanf(r.Header.Get("Content-Range"), "bytes %d-%d/%d", &start, &end, &total); err != nil || total != ss.size || end < start {
		writeError(w, http.StatusBadRequest, "InvalidRange", "Content-Range is missing or wrong.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil || len(body) != end-start+1 || len(body) > MaxRequestBytes {
		writeError(w, http.StatusBadRequest, "InvalidRange", "The body does not match Content-Range or is over 4 MB.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if start != len(ss.att.Data) {
		writeError(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "Ranges must be uploaded in order.")
		return
	}
	ss.att.Data = append(ss.att.Data, body...)
	if len(ss.att.Data) < ss.size {
		writeJSON(w, http.StatusOK, map[string]any{"nextExpectedRanges": []string{strconv.Itoa(len(ss.att.Data)) + "-"}})
		return
	}
	if d := s.drafts[ss.msgID]; d != nil {
		d.attachments = append(d.attachments, ss.att)
	}
	delete(s.sessions, sid)
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) sendDraft(w http.ResponseWriter, mailbox, id string) {
	d := s.draft(w, mailbox, id)
	if d == nil {
		return
	}
	size := len(d.mime)
	for _, a := range d.attachments {
		size += len(a.Data)
	}
	rcpts, ok := s.check(w, mailbox, d.mime, size)
	if !ok {
		return
	}
	s.mu.Lock()
	for k, v := range s.drafts {
		if v == d {
			delete(s.drafts, k)
		}
	}
	s.mu.Unlock()
	s.record(Message{Mailbox: mailbox, Recipients: rcpts, Data: StripBcc(d.mime), Attachments: d.attachments, Draft: true})
	w.WriteHeader(http.StatusAccepted)
}

// StripBcc returns a MIME message without its Bcc header field (and the
// field's folded lines), as Exchange delivers it.
func StripBcc(mime []byte) []byte {
	end := bytes.Index(mime, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(mime)
	}
	var out bytes.Buffer
	lines := bytes.SplitAfter(mime[:end+min(2, len(mime)-end)], []byte("\r\n"))
	skip := false
	for _, l := range lines {
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			if !skip {
				out.Write(l)
			}
			continue
		}
		name, _, _ := bytes.Cut(l, []byte(":"))
		skip = strings.EqualFold(string(bytes.TrimSpace(name)), "bcc")
		if !skip {
			out.Write(l)
		}
	}
	out.Write(mime[min(end+2, len(mime)):])
	return out.Bytes()
}

func unescape(s string) (string, error) { return url.PathUnescape(s) }
