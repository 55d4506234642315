package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"
)

// ShedLimits bound the work the server takes on at once, so that under overload it answers
// some requests at once with 503 or 429 and Retry-After, instead of letting every request's
// latency, and the memory its goroutine holds, grow with the queue. The zero value sheds
// nothing (the API tests run without it); serve uses DefaultShedLimits unless told otherwise.
type ShedLimits struct {
	// Reads and Writes are how many requests of each class run at once: reads (GET, HEAD) and
	// writes (anything else) have separate pools, so that a burst of saves or imports cannot
	// starve sheet loads, nor the reverse. 0 leaves that class unbounded.
	Reads, Writes int
	// Wait is how long a request waits for a slot of its class before it is shed. As many
	// requests may wait as the class has slots; one more is shed at once.
	Wait time.Duration
	// PerClient bounds the requests of one client at once (one bearer token, or one remote
	// address for requests without a token), answered 429 past it, so that one client flooding
	// the server cannot take every slot from the others. 0 leaves clients unbounded.
	PerClient int
}

// DefaultShedLimits are sized for this machine. What runs at once shares its CPUs, so every
// request past what keeps them busy only adds to everyone's latency (Little's law): 4 writes
// per CPU keep the store's group commits full (a save is a few milliseconds of CPU around its
// round trips), and reads, shorter, run twice as many. A request waits at most 50 ms for a
// slot, so that a served request stays well inside a 250 ms p99. A browser opens at most 6
// connections per host, so 8 per client never limits a person, only a script. bench/load
// measured these at 200 users (docs/performance.md).
func DefaultShedLimits() ShedLimits {
	p := runtime.GOMAXPROCS(0)
	return ShedLimits{Reads: 4 * p, Writes: 2 * p, Wait: 50 * time.Millisecond, PerClient: 8}
}

// shedRetryAfter is the Retry-After of a shed request, in seconds: overload clears in well under
// a second once clients back off, and a whole second spreads their retries.
const shedRetryAfter = 1

// neverShed are the operations endpoints: an orchestrator probing a busy instance must see it
// alive (or it restarts it and makes the overload worse), and metrics must report the shedding.
var neverShed = map[string]bool{"/livez": true, "/healthz": true, "/readyz": true, "/metrics": true}

// slotPool is one class's slots and its bounded queue.
type slotPool struct {
	slots   chan struct{}
	waiting atomic.Int64
}

func newSlotPool(n int) *slotPool {
	if n <= 0 {
		return nil
	}
	return &slotPool{slots: make(chan struct{}, n)}
}

// inFlight is how many of the pool's slots are taken (0 for an unbounded class).
func (p *slotPool) inFlight() float64 {
	if p == nil {
		return 0
	}
	return float64(len(p.slots))
}

// acquire takes a slot, waiting up to wait in a queue as long as the pool; false means shed.
func (p *slotPool) acquire(ctx context.Context, wait time.Duration) bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
	}
	if p.waiting.Add(1) > int64(cap(p.slots)) || wait <= 0 {
		p.waiting.Add(-1)
		return false
	}
	defer p.waiting.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (p *slotPool) release() { <-p.slots }

// shedder is the middleware's state: the two pools and the requests in flight per client.
type shedder struct {
	limits        ShedLimits
	reads, writes *slotPool
	metrics       *Metrics
	mu            sync.Mutex
	clients       map[string]int
}

func newShedder(l ShedLimits, m *Metrics) *shedder {
	s := &shedder{limits: l, reads: newSlotPool(l.Reads), writes: newSlotPool(l.Writes), metrics: m, clients: map[string]int{}}
	m.watchInFlight("read", s.reads.inFlight)
	m.watchInFlight("write", s.writes.inFlight)
	return s
}

// clientKey names the caller for the per-client bound: its bearer token (each session is one
// client), or its address without one. The raw remote address is used, not a forwarded header a
// flooding client could vary at will.
func clientKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *shedder) enterClient(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[key] >= s.limits.PerClient {
		return false
	}
	s.clients[key]++
	return true
}

func (s *shedder) leaveClient(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[key]--; s.clients[key] <= 0 {
		delete(s.clients, key) // the map holds only clients with requests in flight
	}
}

func (s *shedder) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		req := c.Request()
		if neverShed[req.URL.Path] {
			return next(c)
		}
		pool, class := s.writes, "write"
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			pool, class = s.reads, "read"
		}
		if s.limits.PerClient > 0 {
			key := clientKey(req)
			if !s.enterClient(key) {
				return s.shed(c, class, "client", kindTooMany,
					"this client has too many requests in progress; retry after the others are answered")
			}
			defer s.leaveClient(key)
		}
		if pool != nil {
			if !pool.acquire(req.Context(), s.limits.Wait) {
				return s.shed(c, class, "busy", kindUnavailable, "the server is busy; nothing was done; retry after Retry-After seconds")
			}
			defer pool.release()
		}
		return next(c)
	}
}

// shed answers a request the server will not serve now. It is logged at info: shedding is the
// designed answer to overload, counted in expertsurvey_http_shed_total for alerts.
func (s *shedder) shed(c *echo.Context, class, reason string, k problemKind, detail string) error {
	s.metrics.countShed(class, reason)
	c.Set(ctxLogLevel, slog.LevelInfo)
	p := newProblem(k, detail)
	p.p.RetryAfter = shedRetryAfter
	return p
}
