package mongodb

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshReadsNeverServeAReadStartedBeforeTheCaller: a value written before a caller asks
// is in what the caller gets, however many callers share reads; and callers do share them.
func TestFreshReadsNeverServeAReadStartedBeforeTheCaller(t *testing.T) {
	var f freshReads[int64]
	var stored, reads atomic.Int64
	read := func(context.Context) (int64, error) {
		reads.Add(1)
		v := stored.Load()
		time.Sleep(200 * time.Microsecond) // a store round trip
		return v, nil
	}
	var wg sync.WaitGroup
	const callers, rounds = 16, 200
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				written := stored.Add(1) // a write acknowledged before the read is asked for
				got, err := f.do(context.Background(), "r1", read)
				if err != nil {
					t.Error(err)
					return
				}
				if got < written {
					t.Errorf("caller %d, read %d: got %d, but %d was written before it asked", w, i, got, written)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := reads.Load(); n >= callers*rounds {
		t.Errorf("%d reads for %d calls: nothing was shared", n, callers*rounds)
	}
	t.Logf("%d reads served %d calls", reads.Load(), callers*rounds)
}

// TestFreshReadsCallerGivesUp: a caller whose context ends returns at once; the shared read
// still completes for the others.
func TestFreshReadsCallerGivesUp(t *testing.T) {
	var f freshReads[int]
	release := make(chan struct{})
	slow := func(context.Context) (int, error) { <-release; return 7, nil }
	go f.do(context.Background(), "k", slow) // running
	time.Sleep(10 * time.Millisecond)
	other := make(chan int)
	go func() { v, _ := f.do(context.Background(), "k", slow); other <- v }() // leads the next read
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.do(ctx, "k", slow); err == nil {
		t.Fatal("a caller that gave up got a value")
	}
	close(release)
	if v := <-other; v != 7 {
		t.Fatalf("the waiting caller got %d", v)
	}
}
