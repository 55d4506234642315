package mongodb

import (
	"context"
	"fmt"
)

// colLoginFailures holds one document per failed login: failure k under key (which names the
// account or address and the time bucket) is {_id: "<key>/<k>"}. Counting by inserting the next
// position, not by incrementing a counter, keeps the count exact under concurrency on the
// embedded store, where $inc loses updates.
const colLoginFailures = "login_failures"

func failureID(key string, k int) string { return fmt.Sprintf("%s/%d", key, k) }

// AddFailure implements auth.AttemptStore. Positions fill from 1 without gaps (position k is
// only tried after k-1 was found taken), so a binary search of point reads finds the first free
// one, and inserting from there settles races.
func (s *Store) AddFailure(ctx context.Context, key string, limit int) (int, error) {
	lo, hi := 0, limit // positions 1..lo are taken; the first free one is in lo+1..hi+1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		taken, err := s.hasDoc(ctx, colLoginFailures, failureID(key, mid))
		if err != nil {
			return 0, err
		}
		if taken {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	now := s.now().UTC() // kept for a clean-up of old buckets, not for the count
	for k := lo + 1; k <= limit; k++ {
		won, err := s.insertMarker(ctx, colLoginFailures, failureID(key, k), now)
		if err != nil {
			return 0, err
		}
		if won {
			return k, nil
		}
	}
	return limit, nil
}

// HasFailures implements auth.AttemptStore with one point read.
func (s *Store) HasFailures(ctx context.Context, key string, n int) (bool, error) {
	return s.hasDoc(ctx, colLoginFailures, failureID(key, n))
}
