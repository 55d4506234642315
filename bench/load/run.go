package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/internal/loadkit"
)

// Config is one run.
type Config struct {
	Users      int
	Duration   time.Duration
	Countries  int
	Indicators int
	// Think is the mean pause between a user's requests (uniform over 0..2 x Think).
	Think time.Duration
	// Binary is the service to run; empty builds it.
	Binary string
	// ServeArgs are added to `expertsurvey serve` (shedding limits, for instance).
	ServeArgs []string
	// SharedAccounts signs the users in as fewer accounts (one per role and country, one per
	// five coordinators), each session shared by its users as one person's several tabs would
	// be: 44 password hashes instead of 400 for 200 users, so that a short run in CI spends its
	// time on the load rather than on argon2.
	SharedAccounts bool
	// Out receives progress lines.
	Out io.Writer
}

const (
	collectRound = "collect"
	reviewRound  = "review"
	adminEmail   = "admin@load.test"
	password     = "load test password 1"
	// jwtKeys are shared by the seeding and the service: fixed, this run's store is thrown away.
	jwtKeys = "load:bG9hZC10ZXN0LWtleS10aGF0LWlzLWF0LWxlYXN0LTMyLWJ5dGVzIQ=="
)

// Run seeds a store, starts the service on it, drives cfg.Users users for cfg.Duration, checks
// that the service recovers, stops it and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Users < 10 || cfg.Countries < 1 || cfg.Indicators < 10 || cfg.Duration <= 0 {
		return nil, fmt.Errorf("want at least 10 users, 1 country, 10 indicators and a positive duration")
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	dir, err := os.MkdirTemp("", "expertsurvey-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := cfg.Binary
	if bin == "" {
		fmt.Fprintln(cfg.Out, "building the service")
		if bin, err = buildBinary(ctx, dir); err != nil {
			return nil, err
		}
	}
	people := newPopulation(cfg)
	phase := time.Now()
	fmt.Fprintf(cfg.Out, "seeding 2 rounds of %d countries x %d indicators\n", cfg.Countries, cfg.Indicators)
	dataDir := filepath.Join(dir, "data")
	if err := seedRounds(ctx, dataDir, cfg, people.reviewersPerAnswer); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(cfg.Out, "seeded in %s; starting the service\n", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	svc, err := start(ctx, bin, dir, dataDir, cfg.ServeArgs)
	if err != nil {
		return nil, err
	}
	defer func() {
		select {
		case <-svc.exited:
		default:
			svc.kill()
		}
	}()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Users + 16, MaxConnsPerHost: 0}}
	fmt.Fprintf(cfg.Out, "ready in %s; signing in %d users through the API\n", time.Since(phase).Round(time.Millisecond), cfg.Users)
	phase = time.Now()
	if err := people.signIn(ctx, client, svc.base); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	runtime.GC()
	rep := &Report{Config: cfg, Ops: map[string]*opStats{}, RSSStart: svc.rss(), HeapStart: svc.heapInUse()}
	sampler := sampleRSS(svc)
	fmt.Fprintf(cfg.Out, "signed in in %s; %d users for %s\n", time.Since(phase).Round(time.Millisecond), cfg.Users, cfg.Duration)
	started := time.Now()
	deadline := started.Add(cfg.Duration)
	var wg sync.WaitGroup
	results := make([]*userStats, len(people.users))
	for i, u := range people.users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = u.work(ctx, client, svc.base, deadline, cfg)
		}()
	}
	wg.Wait()
	rep.Took = time.Since(started)
	for _, r := range results {
		rep.add(r)
	}
	rep.Recovery, err = recovery(client, svc.base, people)
	if err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second) // let the service's background work after the load settle
	runtime.GC()
	rep.RSSEnd, rep.HeapEnd = svc.rss(), svc.heapInUse()
	rep.RSSPeak, rep.RSSPerSecond = sampler.finish()
	if err := svc.stop(); err != nil {
		return nil, err
	}
	return rep, nil
}

// recovery is how long after the load a save and a read succeed again (tried every 100 ms,
// for at most 30 s).
func recovery(client *http.Client, base string, people *population) (time.Duration, error) {
	start := time.Now()
	e := people.firstExpert()
	for time.Since(start) < 30*time.Second {
		code := loadkit.Indicator(e.share[0])
		status, body, _, err := e.request(client, http.MethodGet, base+e.answerPath(code), "", nil)
		if err == nil && status == http.StatusOK {
			var a struct{ Version int }
			_ = json.Unmarshal(body, &a)
			status, _, _, err = e.request(client, http.MethodPut, base+e.answerPath(code), strconv.Quote(strconv.Itoa(a.Version)), saveBody(0))
			if err == nil && status == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, errors.New("the service did not recover: no save and read succeeded within 30 s of the end of the load")
}

// request sends one request as u and reads the whole answer.
func (u *user) request(client *http.Client, method, url, ifMatch string, body []byte) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

func saveBody(i int) []byte {
	return fmt.Appendf(nil, `{"option":"%s","comment":"Checked against the 2025 amendment, request %d.","sources":[{"kind":"law","title":"Act","url":"https://example.org/act","accessed":"2026-01-10"}]}`,
		[]string{"full", "partial", "none"}[i%3], i)
}

// think pauses a user between requests.
func think(mean time.Duration) {
	if mean > 0 {
		time.Sleep(rand.N(2 * mean))
	}
}
