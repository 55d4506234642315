package mongodb_test

import (
	"context"
	"sync"
	"testing"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestAddFailureCountsToTheLimit(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	for want := 1; want <= 5; want++ {
		got, err := s.AddFailure(ctx, "acct/a@example.org/1", 5)
		if err != nil || got != want {
			t.Fatalf("failure %d: AddFailure = %d, %v", want, got, err)
		}
	}
	if got, _ := s.AddFailure(ctx, "acct/a@example.org/1", 5); got != 5 {
		t.Fatalf("past the limit: %d; want 5", got)
	}
	if full, err := s.HasFailures(ctx, "acct/a@example.org/1", 5); err != nil || !full {
		t.Fatalf("HasFailures = %v, %v", full, err)
	}
	if full, _ := s.HasFailures(ctx, "acct/a@example.org/2", 5); full {
		t.Fatal("another bucket is full")
	}
}

// Concurrent failures from two instances (two Stores on one database) are all counted.
func TestConcurrentFailuresFromTwoInstancesAreCounted(t *testing.T) {
	a := mongodbtest.New(t)
	b := a.WithDatabase(a.Database().Name())
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if _, err := s.AddFailure(ctx, "addr/10.0.0.1/7", 50); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if full, _ := a.HasFailures(ctx, "addr/10.0.0.1/7", 12); !full {
		t.Fatal("12 failures not all counted")
	}
	if full, _ := b.HasFailures(ctx, "addr/10.0.0.1/7", 13); full {
		t.Fatal("more than 12 failures counted")
	}
}
