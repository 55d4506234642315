package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mail"
)

// received is one message the test server accepted.
type received struct {
	from, to, user string
	tls            bool
	data           string
}

// smtpServer is an SMTP server inside the test, speaking STARTTLS with a certificate made for
// the test, and accepting PLAIN authentication only over TLS.
type smtpServer struct {
	addr  string
	roots *x509.CertPool
	mu    sync.Mutex
	got   []received
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	cert, roots := selfSigned(t)
	s := &smtpServer{roots: roots}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: s, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "secret" {
			return errors.New("bad credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { s.cur.to = to; return nil }

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.srv.mu.Lock()
	s.srv.got = append(s.srv.got, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

func (s *smtpServer) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

func sender(t *testing.T, s *smtpServer, lang string) *mail.Sender {
	t.Helper()
	return senderWith(t, s, func(c *mail.Config) { c.Language = lang })
}

// senderWith delivers to s, with the test's configuration changed by edit.
func senderWith(t *testing.T, s *smtpServer, edit func(*mail.Config)) *mail.Sender {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	cfg := mail.Config{
		Host: host, Port: atoi(port), Username: "mailer", Password: "secret", From: "Survey <survey@example.org>",
		LinkBase:  "https://survey.example.org/accept-invitation?token=",
		TLSConfig: &tls.Config{RootCAs: s.roots, ServerName: "127.0.0.1"}, Timeout: 10 * time.Second,
	}
	edit(&cfg)
	m, err := mail.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var ann = auth.User{ID: "u_ann", Email: "ann@example.org", DisplayName: "Ann Expert"}

func TestInvitationDeliveredOverTLS(t *testing.T) {
	srv := startSMTP(t)
	expires := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	if err := sender(t, srv, "en").Invitation(context.Background(), ann, "tok/en+1", expires); err != nil {
		t.Fatal(err)
	}
	if err := sender(t, srv, "fr").PasswordReset(context.Background(), ann, "tok-fr", expires); err != nil {
		t.Fatal(err)
	}
	got := srv.messages()
	if len(got) != 2 {
		t.Fatalf("%d messages delivered, want 2", len(got))
	}
	for _, m := range got {
		if !m.tls || m.user != "mailer" || m.from != "survey@example.org" || m.to != "ann@example.org" {
			t.Errorf("envelope: tls %v, user %q, from %q, to %q", m.tls, m.user, m.from, m.to)
		}
	}
	for i, want := range []struct{ subject, link, text string }{
		{"You are invited to expertsurvey", "https://survey.example.org/accept-invitation?token=tok%2Fen%2B1", "Hello Ann Expert"},
		{"Nouveau mot de passe expertsurvey", "https://survey.example.org/accept-invitation?token=tok-fr", "Bonjour Ann Expert"},
	} {
		msg, err := netmail.ReadMessage(strings.NewReader(got[i].data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body := decodedBody(t, msg)
		if subject != want.subject || !strings.Contains(body, want.link) || !strings.Contains(body, want.text) || !strings.Contains(body, "2026-12-09 10:00 UTC") {
			t.Errorf("message %d: subject %q\n%s", i, subject, body)
		}
	}
}

// A server that cannot upgrade to TLS gets nothing: the links sign people in.
func TestNoPlainTextDelivery(t *testing.T) {
	srv := startSMTP(t)
	m := sender(t, srv, "en")
	// A client that does not trust the server's certificate refuses to go on.
	host, port, _ := net.SplitHostPort(srv.addr)
	untrusting, err := mail.New(mail.Config{Host: host, Port: atoi(port), From: "survey@example.org",
		LinkBase: "https://survey.example.org/t?token=", Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusting.Invitation(context.Background(), ann, "tok", time.Now()); err == nil {
		t.Fatal("delivered to a server whose certificate is not trusted")
	}
	_ = m
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestConfigIsChecked(t *testing.T) {
	for _, cfg := range []mail.Config{
		{From: "survey@example.org", LinkBase: "https://x.org/?t="},
		{Host: "smtp.example.org", LinkBase: "https://x.org/?t="},
		{Host: "smtp.example.org", From: "survey@example.org", LinkBase: "https://x.org/?t=", TLS: "none"},
		{Host: "smtp.example.org", From: "survey@example.org", LinkBase: "not a url"},
	} {
		if _, err := mail.New(cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

type mimeDecoder = mime.WordDecoder

func decodedBody(t *testing.T, msg *netmail.Message) string {
	t.Helper()
	b, err := io.ReadAll(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		b, err = io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(b))))
	case "base64":
		b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Without an SMTP server the link is logged, so that a development setup shows how to sign in.
func TestLogNotifierLogsTheLink(t *testing.T) {
	var buf strings.Builder
	l := mail.Log{LinkBase: "http://127.0.0.1:8080/accept-invitation?token=", Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := l.Invitation(context.Background(), ann, "tok-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := l.PasswordReset(context.Background(), ann, "tok-2", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accept-invitation?token=tok-1", "accept-invitation?token=tok-2", "ann@example.org"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

// A user of a round whose instrument is in French and English is invited in both, French (the
// instrument's default) first; languages without templates are passed over, and a user of no
// round gets the configured language.
func TestMessagesInTheInstrumentsLanguages(t *testing.T) {
	srv := startSMTP(t)
	languages := map[string][]string{"u_ann": {"fr", "de", "en"}, "u_bob": {"de"}, "u_cy": nil}
	m := senderWith(t, srv, func(c *mail.Config) {
		c.Language = "en"
		c.LanguagesOf = func(_ context.Context, u auth.User) []string { return languages[u.ID] }
	})
	expires := time.Date(2026, 12, 9, 10, 0, 0, 0, time.UTC)
	for _, u := range []auth.User{ann, {ID: "u_bob", Email: "bob@example.org", DisplayName: "Bob"}, {ID: "u_cy", Email: "cy@example.org", DisplayName: "Cy"}} {
		if err := m.Invitation(context.Background(), u, "tok-"+u.ID, expires); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.messages()
	if len(got) != 3 {
		t.Fatalf("%d messages delivered, want 3", len(got))
	}
	for i, want := range []struct {
		subject string
		texts   []string
	}{
		{"Invitation à expertsurvey / You are invited to expertsurvey", []string{"Bonjour Ann Expert", "Hello Ann Expert"}},
		{"You are invited to expertsurvey", []string{"Hello Bob"}},
		{"You are invited to expertsurvey", []string{"Hello Cy"}},
	} {
		msg, err := netmail.ReadMessage(strings.NewReader(got[i].data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
		body := decodedBody(t, msg)
		last := -1
		for _, text := range want.texts {
			at := strings.Index(body, text)
			if at <= last {
				t.Errorf("message %d: %q missing or out of order\n%s", i, text, body)
			}
			last = at
		}
		if subject != want.subject || strings.Contains(body, "Bonjour") != (i == 0) {
			t.Errorf("message %d: subject %q\n%s", i, subject, body)
		}
	}
}
