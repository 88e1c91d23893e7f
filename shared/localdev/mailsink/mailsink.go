// Package mailsink is the local run's stand-in for the offices' mail server: an SMTP
// server on loopback that keeps every message in memory, and an HTTP endpoint that
// lists them, so a person and the tests can read the notifications sent to offices.
//
//	GET /messages            [{"id":1,"from":"...","to":["..."],"subject":"...","notice":"list-received","at":"RFC3339"}]
//	GET /messages?to=ADDR    only those addressed to ADDR
//	GET /messages/{id}       the raw message (message/rfc822)
package mailsink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// MaxMessage bounds one message; notifications are small.
const MaxMessage = 1 << 20

// Message is one message received.
type Message struct {
	ID      int       `json:"id"`
	From    string    `json:"from"`
	To      []string  `json:"to"`
	Subject string    `json:"subject"`
	Notice  string    `json:"notice,omitempty"` // X-Casellario-Notice
	At      time.Time `json:"at"`
	Raw     []byte    `json:"-"`
}

// Sink is a running mail sink.
type Sink struct {
	SMTPAddr string // host:port, plain SMTP
	HTTPURL  string // http://host:port

	mu   sync.Mutex
	msgs []Message
	smtp *smtp.Server
	web  *http.Server
}

// Start listens on loopback ports (0: free ones).
func Start(smtpPort, httpPort int) (*Sink, error) {
	s := &Sink{}
	sl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", smtpPort))
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", httpPort))
	if err != nil {
		sl.Close()
		return nil, err
	}
	s.SMTPAddr, s.HTTPURL = sl.Addr().String(), "http://"+hl.Addr().String()
	s.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.smtp.Domain = "localhost"
	s.smtp.MaxMessageBytes = MaxMessage
	s.smtp.MaxRecipients = 100
	s.smtp.ReadTimeout, s.smtp.WriteTimeout = time.Minute, time.Minute
	s.smtp.AllowInsecureAuth = true
	mux := http.NewServeMux()
	mux.HandleFunc("GET /messages", s.list)
	mux.HandleFunc("GET /messages/{id}", s.raw)
	s.web = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.smtp.Serve(sl)
	go s.web.Serve(hl)
	return s, nil
}

// Close stops both servers.
func (s *Sink) Close() error {
	return errors.Join(s.smtp.Close(), s.web.Close())
}

// Messages returns what was received, oldest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID = len(s.msgs) + 1
	s.msgs = append(s.msgs, m)
}

func (s *Sink) list(w http.ResponseWriter, r *http.Request) {
	to := strings.ToLower(r.URL.Query().Get("to"))
	out := []Message{}
	for _, m := range s.Messages() {
		if to == "" || contains(m.To, to) {
			out = append(out, m)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Sink) raw(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	msgs := s.Messages()
	if err != nil || id < 1 || id > len(msgs) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	_, _ = w.Write(msgs[id-1].Raw)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

type session struct {
	sink *Sink
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, strings.ToLower(to))
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(io.LimitReader(r, MaxMessage+1))
	if err != nil {
		return err
	}
	if len(raw) > MaxMessage {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "message too big"}
	}
	m := Message{From: s.from, To: s.to, At: time.Now().UTC(), Raw: raw}
	if parsed, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		m.Subject = parsed.Header.Get("Subject")
		if d, err := dec.DecodeHeader(m.Subject); err == nil {
			m.Subject = d
		}
		m.Notice = parsed.Header.Get("X-Casellario-Notice")
	}
	s.sink.add(m)
	return nil
}
