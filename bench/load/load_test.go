package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// The short fixed-time mode CI runs: 200 users for 10 s against the real binary with its
// default shedding limits. Whatever the machine's speed (the figures are reported, not
// asserted): the service fails no request (no 5xx but the shedder's 503s), every shed answer
// says when to retry, it serves again as soon as the load stops, and its memory after the load
// is within a bound of what it was before.
func TestTwoHundredUsersShortRun(t *testing.T) {
	var progress strings.Builder
	rep, err := Run(context.Background(), Config{Users: 200, Duration: 10 * time.Second, Countries: 10, Indicators: 170,
		SharedAccounts: true, Out: &progress})
	t.Log(progress.String())
	if err != nil {
		t.Fatal(err)
	}
	var report strings.Builder
	rep.Write(&report)
	t.Log("\n" + report.String())
	if os.Getenv("BENCH_LOAD_REPORT") != "" {
		_ = os.WriteFile(os.Getenv("BENCH_LOAD_REPORT"), []byte(report.String()), 0o644)
	}
	total := rep.Total()
	if total.unexpected5xx > 0 || total.transport > 0 {
		t.Errorf("%d 5xx answers other than shed 503s and %d transport errors (last: %s)", total.unexpected5xx, total.transport, total.lastError)
	}
	if total.noRetryAfter > 0 {
		t.Errorf("%d 429/503 answers without Retry-After", total.noRetryAfter)
	}
	for _, op := range []string{"expert: save answer (PUT)", "expert: read answer", "reviewer: verdict (POST)", "coordinator: dashboard"} {
		if served, _, _ := rep.Op(op); served == 0 {
			t.Errorf("no %s was served in 10 s", op)
		}
	}
	// Recovery within 30 s is checked by Run itself; here: within a few seconds.
	if rep.Recovery > 5*time.Second {
		t.Errorf("the service served again only %s after the load", rep.Recovery)
	}
	// Flat memory: the sheet caches are bounded (128 MiB by default), the queues by the
	// shedding limits, so the process must not end far above where it started.
	if bound := rep.RSSStart + 192<<20; rep.RSSEnd > bound {
		t.Errorf("RSS %s after the load, %s before: over the bound of +192 MiB", mib(rep.RSSEnd), mib(rep.RSSStart))
	}
}
