package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/internal/loadkit"
)

// opStats is one operation's answers: latencies of those served (every answer but the shed
// ones and transport failures), and counts by status.
type opStats struct {
	served   []time.Duration
	statuses map[int]int
	shed     int
	// unexpected5xx are 5xx answers other than the shedder's 503s: the service failing.
	unexpected5xx int
	// noRetryAfter are 429 and 503 answers without a Retry-After header.
	noRetryAfter int
	transport    int
	lastError    string
}

func newOpStats() *opStats { return &opStats{statuses: map[int]int{}} }

func (s *opStats) record(o outcome, took time.Duration) {
	if o.err != nil {
		s.transport++
		s.lastError = o.err.Error()
		return
	}
	s.statuses[o.status]++
	if (o.status == http.StatusTooManyRequests || o.status == http.StatusServiceUnavailable) && o.retryAfter == "" {
		s.noRetryAfter++
	}
	switch {
	case isShed(o):
		s.shed++
		return
	case o.status >= 500:
		s.unexpected5xx++
		s.lastError = fmt.Sprintf("%d %s", o.status, o.problem)
	}
	s.served = append(s.served, took)
}

func (s *opStats) merge(o *opStats) {
	s.served = append(s.served, o.served...)
	for k, v := range o.statuses {
		s.statuses[k] += v
	}
	s.shed += o.shed
	s.unexpected5xx += o.unexpected5xx
	s.noRetryAfter += o.noRetryAfter
	s.transport += o.transport
	if o.lastError != "" {
		s.lastError = o.lastError
	}
}

// Report is a run's outcome.
type Report struct {
	Config Config
	Took   time.Duration
	Ops    map[string]*opStats
	// Recovery is how long after the load a save and a read succeeded again.
	Recovery time.Duration
	// The service's resident memory: when the users started, its peak (sampled every 100 ms),
	// once a second during the run, and 2 s after the load.
	RSSStart, RSSPeak, RSSEnd int64
	RSSPerSecond              []int64
	// The Go heap in use (from the service's /metrics) at the start and 2 s after the load.
	HeapStart, HeapEnd int64
}

func (r *Report) add(u *userStats) {
	for name, s := range u.ops {
		if r.Ops[name] == nil {
			r.Ops[name] = newOpStats()
		}
		r.Ops[name].merge(s)
	}
}

// Total sums every operation.
func (r *Report) Total() *opStats {
	t := newOpStats()
	for _, s := range r.Ops {
		t.merge(s)
	}
	return t
}

// Op is one operation's figures, for tests: served answers, shed ones, and p99.
func (r *Report) Op(name string) (served, shed int, p99 time.Duration) {
	s := r.Ops[name]
	if s == nil {
		return 0, 0, 0
	}
	return len(s.served), s.shed, loadkit.Percentile(s.served, 0.99)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func statusList(m map[int]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Write prints the report as Markdown, ready for docs/performance.md.
func (r *Report) Write(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "# expertsurvey under load: %d users\n\n%s, %d CPUs, embedded store; 2 rounds of %d countries x %d indicators; %d users (60%% experts, 30%% reviewers, 10%% coordinators) for %s, think time %s, shared accounts %t; serve flags: %q\n\n",
		c.Users, time.Now().UTC().Format(time.DateOnly), runtime.NumCPU(), c.Countries, c.Indicators, c.Users, r.Took.Round(time.Second), c.Think, c.SharedAccounts, strings.Join(c.ServeArgs, " "))
	fmt.Fprintln(w, "| operation | served | served/s | p50 | p95 | p99 | shed | answers by status |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	row := func(name string, s *opStats) {
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %s | %d | %s |\n", name, len(s.served), float64(len(s.served))/r.Took.Seconds(),
			ms(loadkit.Percentile(s.served, .5)), ms(loadkit.Percentile(s.served, .95)), ms(loadkit.Percentile(s.served, .99)), s.shed, statusList(s.statuses))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Ops)) {
		row(name, r.Ops[name])
	}
	t := r.Total()
	row("**all**", t)
	fmt.Fprintf(w, "\n5xx other than shed 503s: %d; 429/503 without Retry-After: %d; transport errors: %d", t.unexpected5xx, t.noRetryAfter, t.transport)
	if t.lastError != "" {
		fmt.Fprintf(w, " (last: %s)", t.lastError)
	}
	fmt.Fprintf(w, "\n\nRecovered %s after the load (a save and a read answered 200).\n\n", ms(r.Recovery))
	var perSecond []string
	for _, v := range r.RSSPerSecond {
		perSecond = append(perSecond, fmt.Sprintf("%.0f", float64(v)/(1<<20)))
	}
	fmt.Fprintf(w, "Service RSS: %s at the start of the load, peak %s, %s 2 s after it (Go heap in use: %s, then %s); every second (MiB): %s\n",
		mib(r.RSSStart), mib(r.RSSPeak), mib(r.RSSEnd), mib(r.HeapStart), mib(r.HeapEnd), strings.Join(perSecond, " "))
}
