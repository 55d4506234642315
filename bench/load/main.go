// Command load drives the service with a realistic mix of concurrent users for a fixed time and
// reports what they saw and what it cost the service: throughput, p50/p95/p99 per operation,
// answers by status, shed responses (429/503 with Retry-After), recovery after the load, and the
// service's resident memory from /proc. It builds and starts the real binary on a fresh store
// in a temporary directory, seeds it, and stops it when done; nothing else is contacted.
//
//	go run ./bench/load [-users 200] [-duration 60s] [-countries 20] [-indicators 170] [-think 0s] [-binary PATH] [-- serve flags...]
//
// Flags after -- go to `expertsurvey serve` (for instance --max-writes 8). The mix: 60% of the
// users are experts saving answers of their country's open sheet (each its own share of the
// indicators), reading answers and loading the sheet; 30% reviewers giving verdicts (approve,
// or request changes one time in ten) on submitted sheets, reading their work queue and the
// sheet; 10% coordinators reading the dashboard and the live scores, loading sheets and streaming
// the round's CSV export. A shed user waits the Retry-After it was given, as a client should.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	cfg := Config{Out: os.Stderr}
	flag.IntVar(&cfg.Users, "users", 200, "concurrent users")
	flag.DurationVar(&cfg.Duration, "duration", time.Minute, "how long the users work")
	flag.IntVar(&cfg.Countries, "countries", 20, "countries of each round")
	flag.IntVar(&cfg.Indicators, "indicators", 170, "indicators per sheet")
	flag.DurationVar(&cfg.Think, "think", 0, "mean pause of a user between two requests (0: none, the worst case)")
	flag.BoolVar(&cfg.SharedAccounts, "shared-accounts", false, "sign users in as one account per role and country (faster set-up; see Config)")
	flag.StringVar(&cfg.Binary, "binary", "", "the expertsurvey binary to run (empty: build ./cmd/expertsurvey)")
	flag.Parse()
	cfg.ServeArgs = flag.Args()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	rep.Write(os.Stdout)
}
