package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/auth"
)

// Webhook is a receiver of notifications configured by an admin.
type Webhook struct {
	ID  string
	URL string
	// Secret keys the signatures. It is shown once, when the webhook is created, and kept
	// only in the webhooks collection (never in the audit trail).
	Secret      string
	Description string
	// Kinds limits the notifications sent; empty sends every kind.
	Kinds     []Kind
	CreatedAt time.Time
	CreatedBy string
}

// Wants reports whether w takes notifications of kind k.
func (w Webhook) Wants(k Kind) bool { return len(w.Kinds) == 0 || slices.Contains(w.Kinds, k) }

// Attempt statuses.
const (
	// StatusSending: claimed and being sent, until LeaseUntil.
	StatusSending = "sending"
	// StatusDelivered: the receiver answered 2xx.
	StatusDelivered = "delivered"
	// StatusFailed: the receiver failed or did not answer; RetryAt says when the next attempt
	// may be claimed, and is absent when none will be (the last attempt, or already claimed).
	StatusFailed = "failed"
	// StatusAbandoned: the instance sending it stopped before recording the outcome (its lease
	// ran out), and the next attempt took over.
	StatusAbandoned = "abandoned"
)

// Attempt is one try at delivering one notification to one webhook, stored under
// "<webhook>/<event>/<n>". Inserting attempt 1 claims the delivery; inserting n+1 claims the
// retry.
type Attempt struct {
	Webhook    string
	Event      string
	Kind       Kind
	N          int
	Status     string
	Code       int
	Error      string
	At         time.Time
	Finished   time.Time
	LeaseUntil time.Time
	RetryAt    time.Time
	// Instance names who claimed it, for operators reading the collection.
	Instance string
}

// AttemptID is the unique key of attempt n of event's delivery to webhook; n is zero-padded so
// that the keys sort in attempt order.
func AttemptID(webhook, event string, n int) string {
	return fmt.Sprintf("%s/%s/%02d", webhook, event, n)
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is one notification's delivery to one webhook with its attempts, oldest first.
type Delivery struct {
	Webhook  string
	Event    string
	Kind     Kind
	State    string
	Attempts []Attempt
}

// StateOf derives a delivery's state from its attempts, oldest first: delivered once an attempt
// was; failed when the last attempt failed and none follows; pending otherwise (being sent,
// waiting for its next attempt, or abandoned by an instance that stopped).
func StateOf(attempts []Attempt) string {
	if len(attempts) == 0 {
		return DeliveryPending
	}
	for _, a := range attempts {
		if a.Status == StatusDelivered {
			return DeliveryDelivered
		}
	}
	last := attempts[len(attempts)-1]
	if last.Status == StatusFailed && last.RetryAt.IsZero() {
		return DeliveryFailed
	}
	return DeliveryPending
}

// Errors of the webhook service.
var (
	ErrNotFound = errors.New("webhook not found")
	ErrConflict = errors.New("webhook conflict")
)

// ValidationError names the invalid fields of a webhook.
type ValidationError struct {
	Problems []FieldError
}

// FieldError is one invalid field.
type FieldError struct{ Field, Reason string }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return "invalid webhook: " + strings.Join(parts, "; ")
}

// Store keeps webhooks and their deliveries.
type Store interface {
	// CreateWebhook stores w (with its secret) and records its creation by actor in the audit
	// trail without the secret.
	CreateWebhook(ctx context.Context, w Webhook, actor string, at time.Time) error
	Webhooks(ctx context.Context) ([]Webhook, error)
	// Webhook returns one webhook, or an error wrapping ErrNotFound.
	Webhook(ctx context.Context, id string) (Webhook, error)
	// DeleteWebhook removes a webhook, recording it in the audit trail; ErrNotFound when absent.
	DeleteWebhook(ctx context.Context, id, actor string, at time.Time) error
	// Deliveries returns up to limit deliveries of a webhook after the event ID after, in
	// event ID order, with their attempts.
	Deliveries(ctx context.Context, webhook, after string, limit int) ([]Delivery, error)
}

// Service manages webhooks for admins.
type Service struct {
	store Store
	now   func() time.Time
	// AllowHTTP accepts plain http URLs to hosts other than localhost (a private network
	// behind a proxy); otherwise webhooks must use https, localhost aside.
	allowHTTP bool
	// reach bounds the addresses a webhook may name (reach.go).
	reach Reach
	newID func() string
}

// NewService returns a service on store.
func NewService(store Store, now func() time.Time, allowHTTP bool, reach Reach) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now, allowHTTP: allowHTTP, reach: reach, newID: func() string {
		return "wh_" + strings.ToLower(strings.TrimPrefix(NewSecret(), "whsec_")[:16])
	}}
}

// CreateInput is a new webhook.
type CreateInput struct {
	URL         string
	Description string
	Kinds       []Kind
}

// MaxURL and MaxDescription bound a webhook's texts.
const (
	MaxURL         = 2000
	MaxDescription = 500
)

// Authorize refuses everyone but active admins: webhooks see every sheet's review activity.
func (s *Service) Authorize(p auth.Principal) error { return admin(p) }

func admin(p auth.Principal) error {
	if p.UserID == "" || p.Disabled || !p.Admin {
		return fmt.Errorf("%w: webhooks are managed by admins", auth.ErrForbidden)
	}
	return nil
}

// Create adds a webhook and returns it with its secret, which is never shown again.
func (s *Service) Create(ctx context.Context, p auth.Principal, in CreateInput) (Webhook, error) {
	if err := admin(p); err != nil {
		return Webhook{}, err
	}
	var ve ValidationError
	if reason := CheckURL(in.URL, s.allowHTTP); reason != "" {
		ve.Problems = append(ve.Problems, FieldError{"url", reason})
	} else if u, _ := url.Parse(in.URL); u != nil {
		if err := s.reach.CheckHost(ctx, u.Hostname()); err != nil {
			ve.Problems = append(ve.Problems, FieldError{"url", err.Error() + "; webhooks reach public addresses and the networks of --webhook-allow-networks"})
		}
	}
	if len(in.Description) > MaxDescription {
		ve.Problems = append(ve.Problems, FieldError{"description", fmt.Sprintf("at most %d bytes", MaxDescription)})
	}
	for i, k := range in.Kinds {
		if !ValidKind(k) {
			ve.Problems = append(ve.Problems, FieldError{fmt.Sprintf("kinds[%d]", i), fmt.Sprintf("unknown kind %q; one of %v", k, Kinds)})
		}
	}
	if len(ve.Problems) > 0 {
		return Webhook{}, &ve
	}
	kinds := slices.Clone(in.Kinds)
	slices.Sort(kinds)
	w := Webhook{ID: s.newID(), URL: in.URL, Secret: NewSecret(), Description: in.Description, Kinds: slices.Compact(kinds),
		CreatedAt: s.now().UTC().Truncate(time.Millisecond), CreatedBy: p.UserID}
	if err := s.store.CreateWebhook(ctx, w, p.UserID, w.CreatedAt); err != nil {
		return Webhook{}, err
	}
	return w, nil
}

// List returns every webhook, secrets blanked.
func (s *Service) List(ctx context.Context, p auth.Principal) ([]Webhook, error) {
	if err := admin(p); err != nil {
		return nil, err
	}
	ws, err := s.store.Webhooks(ctx)
	for i := range ws {
		ws[i].Secret = ""
	}
	return ws, err
}

// Delete removes a webhook; deliveries in progress stop at their next attempt.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id string) error {
	if err := admin(p); err != nil {
		return err
	}
	return s.store.DeleteWebhook(ctx, id, p.UserID, s.now().UTC())
}

// Deliveries pages through a webhook's deliveries.
func (s *Service) Deliveries(ctx context.Context, p auth.Principal, id, after string, limit int) ([]Delivery, error) {
	if err := admin(p); err != nil {
		return nil, err
	}
	if _, err := s.store.Webhook(ctx, id); err != nil {
		return nil, err
	}
	return s.store.Deliveries(ctx, id, after, limit)
}

// CheckURL returns why raw is not an acceptable webhook URL, or "". Webhooks carry review
// activity, so they go over TLS; plain http is accepted for localhost (a relay on the same
// machine, tests) and, with allowHTTP, anywhere. Credentials in the URL are refused: URLs
// end up in logs and listings.
func CheckURL(raw string, allowHTTP bool) string {
	if raw == "" {
		return "required"
	}
	if len(raw) > MaxURL {
		return fmt.Sprintf("at most %d bytes", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL such as https://hooks.example.org/expertsurvey"
	}
	if u.User != nil {
		return "must not carry credentials; the signature authenticates deliveries"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if allowHTTP || isLoopback(u.Hostname()) {
			return ""
		}
		return "must use https (plain http only to localhost)"
	}
	return "scheme must be https"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
