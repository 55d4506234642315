package mongodb

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer rewrites sheet projections off the request path. Requests only name the sheets
// that are due; one worker goroutine, running only while there is work, writes each named
// sheet's newest cached state, so a sheet named many times while a write is under way is
// written once.
type checkpointer struct {
	s   *Store
	mu  sync.Mutex
	due map[string]bool
	// scheduledAt is the log position a sheet's pending checkpoint was asked for, until it is
	// written: the saves that land while a large projection is being written must count from
	// there, not from the older stored position, or each of them would ask for another rewrite
	// at once and a sheet would be rewritten far more often than its interval.
	scheduledAt map[string]int64
	running     bool
	idle        *sync.Cond
	written     atomic.Int64
	bytes       atomic.Int64
	failed      atomic.Int64
}

func newCheckpointer(s *Store) *checkpointer {
	c := &checkpointer{s: s, due: map[string]bool{}, scheduledAt: map[string]int64{}}
	c.idle = sync.NewCond(&c.mu)
	return c
}

// schedule names sheet id, at log position seq, as due unless a checkpoint asked for within
// interval of seq is still pending.
func (c *checkpointer) schedule(id string, seq, interval int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.scheduledAt[id]; ok && seq-at < interval {
		return
	}
	c.scheduledAt[id] = seq
	c.due[id] = true
	if !c.running {
		c.running = true
		go c.work()
	}
}

// work writes every sheet named until none is due.
func (c *checkpointer) work() {
	for {
		c.mu.Lock()
		var id string
		for k := range c.due {
			id = k
			break
		}
		if id == "" {
			c.running = false
			c.idle.Broadcast()
			c.mu.Unlock()
			return
		}
		delete(c.due, id)
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.s.writeCheckpoint(ctx, id)
		cancel()
		c.mu.Lock()
		if !c.due[id] {
			// Written (or failed, and the next save asks again); the stored position now counts.
			delete(c.scheduledAt, id)
		}
		c.mu.Unlock()
		if err != nil {
			c.failed.Add(1)
			c.s.logger.Warn("sheet checkpoint not written; the next cold read replays more of the log", "sheet", id, "err", err)
			continue
		}
		c.written.Add(1)
	}
}

// wait returns once nothing is due or ctx ends; Close calls it so that a restart replays less.
func (c *checkpointer) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		c.mu.Lock()
		for c.running {
			c.idle.Wait()
		}
		c.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
