package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DispatchStore is what the dispatcher reads and writes. Every write that two instances could
// make at once is an insert under a unique key (ClaimAttempt); the updates (FinishAttempt,
// ReleaseAttempt, SaveCursor) touch a document only its claimer writes, or are idempotent.
type DispatchStore interface {
	// Entries returns the sheet log entries with review moves written at or after since,
	// oldest first.
	Entries(ctx context.Context, since time.Time) ([]Entry, error)
	// Entry reads one sheet log entry by its key, for a retry.
	Entry(ctx context.Context, id string) (Entry, bool, error)
	Webhooks(ctx context.Context) ([]Webhook, error)
	// ClaimAttempt inserts a under AttemptID and reports false, without error, when another
	// instance inserted it first.
	ClaimAttempt(ctx context.Context, a Attempt) (bool, error)
	// FinishAttempt records the outcome of a claimed attempt (Status, Code, Error, Finished,
	// RetryAt).
	FinishAttempt(ctx context.Context, a Attempt) error
	// ReleaseAttempt records that the attempt after a was claimed: a no longer waits for a
	// retry, and an attempt still marked sending is abandoned.
	ReleaseAttempt(ctx context.Context, a Attempt) error
	// DueAttempts returns the attempts whose next attempt may be claimed at now: failed with
	// RetryAt at or before now, or still sending with LeaseUntil at or before now.
	DueAttempts(ctx context.Context, now time.Time) ([]Attempt, error)
	// Cursor and SaveCursor keep the high-water mark of entries seen, across restarts: the
	// time of the newest entry some instance has handed to its workers.
	Cursor(ctx context.Context) (time.Time, bool, error)
	SaveCursor(ctx context.Context, t time.Time) error
}

// Dispatcher delivers the notifications of new sheet log entries to the configured webhooks.
// Every instance runs one; they share nothing but the store. Each scans the log from its
// cursor minus Window (an entry written by an instance whose clock is behind, or committed a
// little late, is still found), and hands each (webhook, notification) pair it has not seen
// to its workers, which claim the first attempt by insert: whichever instance inserts first
// delivers, the others skip. Failed attempts are retried by whichever instance claims the
// next attempt after its RetryAt; an attempt whose instance stopped before recording the
// outcome is retried after its lease. Nothing here runs on a request's path: a request only
// appends its log entry.
type Dispatcher struct {
	Store DispatchStore
	// Client sends the deliveries; nil uses a client without redirects.
	Client *http.Client
	// Timeout bounds one attempt, connection included (10 s when zero). The attempt's lease
	// is Timeout plus LeaseMargin, so an instance that is merely slow never sees its attempt
	// taken over.
	Timeout     time.Duration
	LeaseMargin time.Duration
	// Workers is how many deliveries run at once (4 when zero).
	Workers int
	// Poll is how often the log and the due retries are read (2 s when zero).
	Poll time.Duration
	// Window is how far before the cursor each scan starts (1 min when zero).
	Window  time.Duration
	Backoff Backoff
	Now     func() time.Time
	Rand    func() float64
	Logger  *slog.Logger
	// Instance names this instance in the attempts it claims.
	Instance string
	// OnAttempt, when set, is told the status of every finished attempt, for metrics.
	OnAttempt func(status string)
}

type job struct {
	webhook Webhook
	n       Notification
	attempt int
	prev    *Attempt
}

func (d *Dispatcher) defaults() {
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.LeaseMargin <= 0 {
		d.LeaseMargin = 30 * time.Second
	}
	if d.Workers <= 0 {
		d.Workers = 4
	}
	if d.Poll <= 0 {
		d.Poll = 2 * time.Second
	}
	if d.Window <= 0 {
		d.Window = time.Minute
	}
	if d.Backoff.MaxAttempts <= 0 {
		d.Backoff = DefaultBackoff
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Client == nil {
		d.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight to be recorded.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	jobs := make(chan job, d.Workers*16)
	var wg sync.WaitGroup
	for range d.Workers {
		wg.Go(func() {
			for j := range jobs {
				d.deliver(ctx, j)
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)

	s := &scanner{d: d, jobs: jobs, seen: map[string]time.Time{}}
	ticker := time.NewTicker(d.Poll)
	defer ticker.Stop()
	for {
		if err := s.scan(ctx); err != nil && ctx.Err() == nil {
			d.Logger.WarnContext(ctx, "notifications: scan failed; trying again at the next poll", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// scanner is the dispatcher's reading side: one goroutine, so its maps need no lock.
type scanner struct {
	d      *Dispatcher
	jobs   chan<- job
	since  time.Time
	loaded bool
	cursor time.Time
	// seen holds the pairs and retries handed to the workers, with the time that lets them
	// be forgotten once the scans no longer reach back to them.
	seen map[string]time.Time
}

func (s *scanner) scan(ctx context.Context) error {
	d := s.d
	now := d.Now()
	if !s.loaded {
		c, ok, err := d.Store.Cursor(ctx)
		if err != nil {
			return err
		}
		s.cursor = now
		if ok {
			s.cursor = c
		}
		s.loaded = true
	}
	webhooks, err := d.Store.Webhooks(ctx)
	if err != nil {
		return err
	}
	since := s.cursor.Add(-d.Window)
	entries, err := d.Store.Entries(ctx, since)
	if err != nil {
		return err
	}
	newest := s.cursor
	for _, e := range entries {
		for _, n := range From(e) {
			for _, w := range webhooks {
				if !w.Wants(n.Kind) || e.Time.Before(w.CreatedAt) {
					continue
				}
				key := AttemptID(w.ID, n.ID, 1)
				if _, ok := s.seen[key]; ok {
					continue
				}
				if !s.hand(ctx, key, e.Time, job{webhook: w, n: n, attempt: 1}) {
					return ctx.Err()
				}
			}
		}
		newest = maxTime(newest, e.Time)
	}
	if newest.After(s.cursor) {
		s.cursor = newest
		if err := d.Store.SaveCursor(ctx, newest); err != nil {
			d.Logger.WarnContext(ctx, "notifications: cursor not saved; a restart rescans a little more", "error", err.Error())
		}
	}
	for key, t := range s.seen {
		if t.Before(s.cursor.Add(-2*d.Window)) && t.Before(now.Add(-2*d.Window)) {
			delete(s.seen, key)
		}
	}
	return s.retries(ctx, now, webhooks)
}

// hand gives j to the workers, remembering key; false when ctx ended first.
func (s *scanner) hand(ctx context.Context, key string, t time.Time, j job) bool {
	select {
	case s.jobs <- j:
		s.seen[key] = t
		return true
	case <-ctx.Done():
		return false
	}
}

// retries hands over the next attempt of every delivery whose last attempt is due.
func (s *scanner) retries(ctx context.Context, now time.Time, webhooks []Webhook) error {
	d := s.d
	due, err := d.Store.DueAttempts(ctx, now)
	if err != nil {
		return err
	}
	for _, a := range due {
		key := AttemptID(a.Webhook, a.Event, a.N+1)
		if _, ok := s.seen[key]; ok {
			continue
		}
		w, ok := find(webhooks, a.Webhook)
		if !ok || a.N >= d.Backoff.MaxAttempts {
			// The webhook is gone, or this was the last attempt and its instance stopped:
			// nothing follows.
			final := a
			final.Status, final.RetryAt, final.Finished = StatusFailed, time.Time{}, now
			if final.Error == "" {
				final.Error = "lease expired before the outcome was recorded"
			}
			if !ok {
				final.Error = "webhook deleted"
			}
			if err := d.Store.FinishAttempt(ctx, final); err != nil {
				return err
			}
			continue
		}
		entryID := strings.TrimSuffix(a.Event, "/"+string(a.Kind))
		e, found, err := d.Store.Entry(ctx, entryID)
		if err != nil {
			return err
		}
		n, ok := notificationOf(e, a.Kind)
		if !found || !ok {
			d.Logger.WarnContext(ctx, "notifications: the entry of a retry is gone", "event", a.Event)
			continue
		}
		prev := a
		if !s.hand(ctx, key, now, job{webhook: w, n: n, attempt: a.N + 1, prev: &prev}) {
			return ctx.Err()
		}
	}
	return nil
}

func notificationOf(e Entry, k Kind) (Notification, bool) {
	for _, n := range From(e) {
		if n.Kind == k {
			return n, true
		}
	}
	return Notification{}, false
}

func find(ws []Webhook, id string) (Webhook, bool) {
	for _, w := range ws {
		if w.ID == id {
			return w, true
		}
	}
	return Webhook{}, false
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// deliver claims attempt j.attempt and, if this instance won it, sends it and records the
// outcome.
func (d *Dispatcher) deliver(ctx context.Context, j job) {
	if ctx.Err() != nil {
		return // not claimed: another instance, or this one after a restart, will
	}
	now := d.Now().UTC()
	a := Attempt{Webhook: j.webhook.ID, Event: j.n.ID, Kind: j.n.Kind, N: j.attempt, Status: StatusSending,
		At: now, LeaseUntil: now.Add(d.Timeout + d.LeaseMargin), Instance: d.Instance}
	won, err := d.Store.ClaimAttempt(ctx, a)
	if err != nil {
		d.Logger.WarnContext(ctx, "notifications: claim failed", "attempt", AttemptID(a.Webhook, a.Event, a.N), "error", err.Error())
		return
	}
	if !won {
		return
	}
	if j.prev != nil {
		if err := d.Store.ReleaseAttempt(ctx, *j.prev); err != nil {
			d.Logger.WarnContext(ctx, "notifications: earlier attempt not released", "error", err.Error())
		}
	}
	a.Code, err = d.send(ctx, j.webhook, j.n, a.N)
	a.Finished = d.Now().UTC()
	switch {
	case err == nil && a.Code >= 200 && a.Code < 300:
		a.Status = StatusDelivered
	default:
		a.Status = StatusFailed
		if err != nil {
			a.Error = err.Error()
		} else {
			a.Error = "HTTP " + strconv.Itoa(a.Code)
		}
		if delay, again := d.Backoff.Delay(a.N, d.Rand); again {
			a.RetryAt = a.Finished.Add(delay)
		}
	}
	// Recorded even when ctx ended meanwhile (shutdown): the outcome is known.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.Store.FinishAttempt(rec, a); err != nil {
		d.Logger.WarnContext(ctx, "notifications: outcome not recorded; the attempt is retried after its lease",
			"attempt", AttemptID(a.Webhook, a.Event, a.N), "error", err.Error())
		return
	}
	if d.OnAttempt != nil {
		d.OnAttempt(a.Status)
	}
	if a.Status == StatusFailed {
		d.Logger.InfoContext(ctx, "notifications: delivery failed", "webhook", a.Webhook, "event", a.Event,
			"attempt", a.N, "error", a.Error, "retry_at", a.RetryAt)
	}
}

// send posts n to w, signed; it returns the status code, or an error when no answer came.
func (d *Dispatcher) send(ctx context.Context, w Webhook, n Notification, attempt int) (int, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	t := d.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "expertsurvey-webhooks")
	req.Header.Set(HeaderEvent, n.ID)
	req.Header.Set(HeaderIdempotencyKey, n.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(t.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(w.Secret, t, body))
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("no answer: %w", err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}
