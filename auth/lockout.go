package auth

import (
	"context"
	"fmt"
	"time"
)

// LockoutPolicy bounds password guessing. Failures are counted in fixed windows, per account
// (by normalized email, whether or not it exists, so that a lock reveals nothing) and per client
// address, in the store, so that the limits hold across every instance of the service.
//
// A key reaching its limit stays locked for the rest of its window and the whole next one:
// between one and two windows. Fixed windows let a patient guesser make up to about twice the
// limit around a window boundary, which is still a handful of guesses per quarter hour.
type LockoutPolicy struct {
	Window        time.Duration
	MaxPerAccount int
	MaxPerAddress int
}

// DefaultLockout: 5 failures per account or 50 per address in 15 minutes.
var DefaultLockout = LockoutPolicy{Window: 15 * time.Minute, MaxPerAccount: 5, MaxPerAddress: 50}

func (lp LockoutPolicy) bucket(t time.Time) int64 { return t.UnixNano() / int64(lp.Window) }

func (lp LockoutPolicy) bucketEnd(b int64) time.Time { return time.Unix(0, (b+1)*int64(lp.Window)) }

type lockKey struct {
	prefix string // "acct/<email>" or "addr/<address>"
	limit  int
}

func (s *Service) lockKeys(emailKey, clientAddr string) []lockKey {
	keys := []lockKey{{"acct/" + emailKey, s.lockout.MaxPerAccount}}
	if clientAddr != "" {
		keys = append(keys, lockKey{"addr/" + clientAddr, s.lockout.MaxPerAddress})
	}
	return keys
}

// lockedFor returns how long logins for emailKey from clientAddr stay locked, zero when they
// are not. Each check is a point read.
func (s *Service) lockedFor(ctx context.Context, emailKey, clientAddr string, now time.Time) (time.Duration, error) {
	b := s.lockout.bucket(now)
	var until time.Time
	for _, k := range s.lockKeys(emailKey, clientAddr) {
		// The current bucket first: if it is full the lock lasts longest and the previous one
		// does not matter.
		for _, bb := range []int64{b, b - 1} {
			full, err := s.store.HasFailures(ctx, fmt.Sprintf("%s/%d", k.prefix, bb), k.limit)
			if err != nil {
				return 0, fmt.Errorf("auth: check lockout: %w", err)
			}
			if full {
				if end := s.lockout.bucketEnd(bb + 1); end.After(until) {
					until = end
				}
				break
			}
		}
	}
	if until.IsZero() {
		return 0, nil
	}
	return until.Sub(now), nil
}

// recordFailure counts a failed login and returns how long the caller is now locked, zero
// when this failure did not reach a limit.
func (s *Service) recordFailure(ctx context.Context, emailKey, clientAddr string, now time.Time) (time.Duration, error) {
	b := s.lockout.bucket(now)
	var locked bool
	for _, k := range s.lockKeys(emailKey, clientAddr) {
		n, err := s.store.AddFailure(ctx, fmt.Sprintf("%s/%d", k.prefix, b), k.limit)
		if err != nil {
			return 0, fmt.Errorf("auth: record failed login: %w", err)
		}
		locked = locked || n >= k.limit
	}
	if !locked {
		return 0, nil
	}
	return s.lockout.bucketEnd(b + 1).Sub(now), nil
}
