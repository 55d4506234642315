package mongodb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// Versions of one user saved at once, before any projection of it exists (a creation and the
// grants of a concurrent import, say): every save succeeds. The embedded store's upserts are
// not atomic, so racing upserts of a missing projection collide on its _id; the loser must
// replace what the winner inserted rather than fail a change whose event is already logged.
func TestRacingSavesOfANewUserAllLand(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	for round := range 5 {
		id := fmt.Sprintf("u_race%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				u := testUser(id, id+"@example.org")
				u.Version = int64(i + 1)
				errs[i] = s.SaveUser(ctx, u, event("user.test", id))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("save of version %d: %v", i+1, err)
			}
		}
		u, err := s.UserByID(ctx, id)
		if err != nil || u.Version != 8 {
			t.Fatalf("after the race: version %d, %v", u.Version, err)
		}
	}
}
