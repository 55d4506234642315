package auth

import (
	"context"
	"time"
)

// Notifier delivers one-time tokens to their users: package mail sends them by e-mail, or logs
// the link when no mail server is configured. Delivery is best effort: the token is also in the
// API's answer, so an admin can pass it on when a message does not arrive; a Notifier logs its
// own failures.
type Notifier interface {
	Invitation(ctx context.Context, u User, token string, expires time.Time) error
	PasswordReset(ctx context.Context, u User, token string, expires time.Time) error
}

func (s *Service) notifyInvitation(ctx context.Context, u User, rec TokenRecord, token string) {
	if s.notifier != nil {
		_ = s.notifier.Invitation(ctx, u, token, rec.ExpiresAt) // logged by the notifier
	}
}

func (s *Service) notifyReset(ctx context.Context, u User, rec TokenRecord, token string) {
	if s.notifier != nil {
		_ = s.notifier.PasswordReset(ctx, u, token, rec.ExpiresAt) // logged by the notifier
	}
}
