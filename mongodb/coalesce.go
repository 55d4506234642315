package mongodb

import (
	"context"
	"sync"
)

// freshReads coalesces reads of one key that must each see every write acknowledged before the
// read began: the probe of a round's log before each save, which many concurrent requests make
// on the same round. A read that arrives while none is running runs at once. One that arrives
// while a read is running cannot use it (it may have started before this caller arrived, and
// missed a write acknowledged since), so it waits for the next read, which starts as soon as the
// running one ends and is shared by everyone who arrived meanwhile. Every caller thus gets the
// result of a read that began after it arrived, exactly as if it had read alone, while the store
// sees at most two reads of a key in flight instead of one per request.
type freshReads[T any] struct {
	mu   sync.Mutex
	keys map[string]*freshState[T]
}

type freshState[T any] struct {
	running *freshCall[T]
	next    *freshCall[T]
}

type freshCall[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// do returns read's result for key, from a read that began after do was called. read runs
// detached from any one caller's cancellation (others may share it); a caller that gives up
// returns its context's error.
func (f *freshReads[T]) do(ctx context.Context, key string, read func(context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	if f.keys == nil {
		f.keys = map[string]*freshState[T]{}
	}
	st := f.keys[key]
	if st == nil {
		st = &freshState[T]{}
		f.keys[key] = st
	}
	if st.running == nil {
		call := &freshCall[T]{done: make(chan struct{})}
		st.running = call
		f.mu.Unlock()
		f.run(ctx, key, st, call, read)
		return call.val, call.err
	}
	call, lead, running := st.next, false, st.running
	if call == nil {
		call, lead = &freshCall[T]{done: make(chan struct{})}, true
		st.next = call
	}
	f.mu.Unlock()
	if lead {
		// The leader of the next read starts it once the running one is over, even if its
		// own caller has gone: the others are waiting for it.
		<-running.done
		f.mu.Lock()
		st.running, st.next = call, nil
		f.mu.Unlock()
		f.run(ctx, key, st, call, read)
		return call.val, call.err
	}
	select {
	case <-call.done:
		return call.val, call.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (f *freshReads[T]) run(ctx context.Context, key string, st *freshState[T], call *freshCall[T], read func(context.Context) (T, error)) {
	call.val, call.err = read(context.WithoutCancel(ctx))
	close(call.done)
	f.mu.Lock()
	if st.running == call {
		st.running = nil
		if st.next == nil {
			delete(f.keys, key)
		}
	}
	f.mu.Unlock()
}
