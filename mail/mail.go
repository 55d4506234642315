// Package mail delivers the messages of auth (invitations and password resets) through an SMTP
// server, with github.com/wneessen/go-mail, always over TLS; without a configured server it
// logs the link instead, so that a development setup still shows how to sign in.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/expertsurvey/expertsurvey/auth"
)

//go:embed templates/*.txt
var templateFiles embed.FS

// templates holds every message in every language, keyed "invitation.en"; the first line of a
// file is the subject.
var templates = template.Must(template.New("").ParseFS(templateFiles, "templates/*.txt"))

// Languages lists the languages the messages are written in; English is the fallback.
var Languages = []string{"en", "fr"}

// Config names the SMTP server and what the messages say.
type Config struct {
	Host     string
	Port     int // 587 for STARTTLS, 465 for implicit TLS
	Username string
	Password string
	From     string
	// TLS is "starttls" (the default: the connection is upgraded, and refused when the server
	// cannot) or "tls" (implicit TLS from the first byte, usually port 465). Plain text is not
	// offered: the messages carry sign-in links.
	TLS string
	// LinkBase is where a token is redeemed: the link is LinkBase followed by the token, e.g.
	// https://survey.example.org/accept-invitation?token=
	LinkBase string
	// Language picks the templates of users LanguagesOf names no language for; unknown
	// languages fall back to English.
	Language string
	// LanguagesOf, when set, names the languages of a user's messages: those of the instruments
	// of the rounds the user takes part in, each instrument's default first. Every one of them
	// with a template is written into the one message (the subject joins theirs), so that a
	// French and English round invites in French and English.
	LanguagesOf func(ctx context.Context, u auth.User) []string
	// TLSConfig overrides the TLS settings (tests trust their own certificate with it).
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// Sender delivers messages through one SMTP server. It implements auth.Notifier.
type Sender struct {
	cfg    Config
	logger *slog.Logger
}

// New checks cfg and returns a Sender; nothing is dialled until a message is sent.
func New(cfg Config, logger *slog.Logger) (*Sender, error) {
	var problems []string
	if cfg.Host == "" {
		problems = append(problems, "the SMTP host is required")
	}
	if cfg.From == "" {
		problems = append(problems, "the From address is required")
	} else if err := gomail.NewMsg().From(cfg.From); err != nil {
		problems = append(problems, fmt.Sprintf("From %q is not an address", cfg.From))
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = "starttls"
	case "starttls", "tls":
	default:
		problems = append(problems, fmt.Sprintf("TLS must be starttls or tls, not %q", cfg.TLS))
	}
	if err := checkLinkBase(cfg.LinkBase); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("mail: %s", strings.Join(problems, "; "))
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{"starttls": 587, "tls": 465}[cfg.TLS]
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Sender{cfg: cfg, logger: logger}, nil
}

func checkLinkBase(base string) error {
	if base == "" {
		return errors.New("the link base (where tokens are redeemed) is required")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("the link base %q is not an http(s) address", base)
	}
	return nil
}

// Invitation implements auth.Notifier.
func (s *Sender) Invitation(ctx context.Context, u auth.User, token string, expires time.Time) error {
	return s.send(ctx, "invitation", u, token, expires)
}

// PasswordReset implements auth.Notifier.
func (s *Sender) PasswordReset(ctx context.Context, u auth.User, token string, expires time.Time) error {
	return s.send(ctx, "reset", u, token, expires)
}

func (s *Sender) send(ctx context.Context, kind string, u auth.User, token string, expires time.Time) error {
	var langs []string
	if s.cfg.LanguagesOf != nil {
		langs = s.cfg.LanguagesOf(ctx, u)
	}
	if !slices.ContainsFunc(langs, hasTemplates) {
		langs = []string{s.cfg.Language}
	}
	subject, body, err := render(kind, langs, u, s.cfg.LinkBase+url.QueryEscape(token), expires)
	if err != nil {
		return err
	}
	m := gomail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := m.AddToFormat(u.DisplayName, u.Email); err != nil {
		return fmt.Errorf("mail: to %s: %w", u.Email, err)
	}
	m.Subject(subject)
	m.SetBodyString(gomail.TypeTextPlain, body)
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	if s.cfg.TLS == "tls" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPortPolicy(gomail.TLSMandatory))
	}
	if s.cfg.TLSConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.cfg.TLSConfig))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		s.logger.WarnContext(ctx, "mail not delivered; the token is in the API's answer, for the admin to pass on", "kind", kind, "user", u.ID, "err", err)
		return fmt.Errorf("mail: deliver %s to %s: %w", kind, u.Email, err)
	}
	s.logger.InfoContext(ctx, "mail delivered", "kind", kind, "user", u.ID)
	return nil
}

func hasTemplates(lang string) bool { return slices.Contains(Languages, lang) }

// render fills the template kind in every language of langs that has one (English when none
// has), one after the other, and joins their subjects.
func render(kind string, langs []string, u auth.User, link string, expires time.Time) (subject, body string, err error) {
	var written []string
	for _, lang := range langs {
		if hasTemplates(lang) && !slices.Contains(written, lang) {
			written = append(written, lang)
		}
	}
	if len(written) == 0 {
		written = []string{"en"}
	}
	data := struct{ Name, Email, Link, Expires string }{u.DisplayName, u.Email, link, expires.UTC().Format("2006-01-02 15:04 MST")}
	var subjects, bodies []string
	for _, lang := range written {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, kind+"."+lang+".txt", data); err != nil {
			return "", "", fmt.Errorf("mail: render %s in %s: %w", kind, lang, err)
		}
		s, b2, _ := strings.Cut(b.String(), "\n")
		subjects, bodies = append(subjects, strings.TrimSpace(s)), append(bodies, strings.TrimSpace(b2))
	}
	return strings.Join(subjects, " / "), strings.Join(bodies, "\n\n"+strings.Repeat("-", 40)+"\n\n") + "\n", nil
}

// Log is the notifier without an SMTP server: it logs the link, so that whoever runs a
// development setup can follow it. The link signs in as the user: configure SMTP in production.
type Log struct {
	LinkBase string
	Logger   *slog.Logger
}

// Invitation implements auth.Notifier.
func (l Log) Invitation(ctx context.Context, u auth.User, token string, expires time.Time) error {
	l.Logger.InfoContext(ctx, "no SMTP server configured: invitation link not mailed", "user", u.ID, "email", u.Email, "link", l.LinkBase+url.QueryEscape(token), "expires", expires.UTC())
	return nil
}

// PasswordReset implements auth.Notifier.
func (l Log) PasswordReset(ctx context.Context, u auth.User, token string, expires time.Time) error {
	l.Logger.InfoContext(ctx, "no SMTP server configured: password reset link not mailed", "user", u.ID, "email", u.Email, "link", l.LinkBase+url.QueryEscape(token), "expires", expires.UTC())
	return nil
}
