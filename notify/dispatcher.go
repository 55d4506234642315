package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sheet names one country's sheet in a round.
type Sheet struct{ Round, Country string }

func (s Sheet) String() string { return s.Round + "/" + s.Country }

// DispatchStore is what the dispatcher reads and writes. Every write that two instances could
// make at once is an insert under a unique key (ClaimAttempt); the updates (FinishAttempt,
// ReleaseAttempt, SaveSheetCursor) touch a document only its claimer writes, or only ever
// move a mark forward, where a lost update costs a re-read, never a notification.
type DispatchStore interface {
	// ActiveSheets lists the sheets whose logs may grow with review moves: those of rounds
	// open or closed (in review).
	ActiveSheets(ctx context.Context) ([]Sheet, error)
	// StartSeq is the log position after which the sheet's entries are still to be looked
	// at: the highest position some instance handed to its workers (SaveSheetCursor), or,
	// for a sheet no instance has looked at, the position of its checkpoint.
	StartSeq(ctx context.Context, sheet Sheet) (int64, error)
	SaveSheetCursor(ctx context.Context, sheet Sheet, seq int64) error
	// Entry reads one sheet log entry by its key (EntryID): a point read. found is false
	// when the position is not written yet; Moves is empty for entries without review moves.
	Entry(ctx context.Context, id string) (e Entry, found bool, err error)
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
}

// Dispatcher delivers the notifications of new sheet log entries to the configured webhooks.
// Every instance runs one; they share nothing but the store.
//
// New entries are found by reading each active sheet's log forward from the last position
// looked at, one point read by _id per position (the one lookup the embedded store serves from
// an index): at once for a sheet this instance wrote to (Nudge), and every Poll for every
// active sheet, which catches the writes of other instances and of instances that stopped.
// For each notification of an entry and each webhook that takes it, a worker claims the first
// attempt by insert: whichever instance inserts first delivers, the others skip. A failed
// attempt is retried by whichever instance claims the next attempt once its RetryAt has come
// (this instance wakes up for its own at that time; every instance looks for due ones every
// RetryPoll); an attempt whose instance stopped before recording the outcome is retried after
// its lease. Nothing here runs on a request's path: a request appends its log entry and, at
// most, drops a nudge in a buffered channel.
type Dispatcher struct {
	Store DispatchStore
	// Client sends the deliveries; nil uses Reach's client (public addresses only, no
	// redirects followed).
	Client *http.Client
	// Reach bounds the addresses the default client connects to (reach.go).
	Reach Reach
	// Timeout bounds one attempt, connection included (10 s when zero). The attempt's lease
	// is Timeout plus LeaseMargin (30 s when zero), so an instance that is merely slow never
	// sees its attempt taken over.
	Timeout     time.Duration
	LeaseMargin time.Duration
	// Workers is how many deliveries run at once (4 when zero).
	Workers int
	// Poll is how often every active sheet's log is probed (2 s when zero).
	Poll time.Duration
	// RetryPoll is how often the store is asked for due retries and expired leases (15 s
	// when zero); a query that scans the deliveries on the embedded store.
	RetryPoll time.Duration
	Backoff   Backoff
	Now       func() time.Time
	Rand      func() float64
	Logger    *slog.Logger
	// Instance names this instance in the attempts it claims.
	Instance string
	// OnAttempt, when set, is told the status of every finished attempt, for metrics.
	OnAttempt func(status string)

	once    sync.Once
	nudges  chan Sheet
	retries chan struct{}
}

type job struct {
	webhook Webhook
	n       Notification
	attempt int
	prev    *Attempt
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.nudges = make(chan Sheet, 1024)
		d.retries = make(chan struct{}, 1)
	})
}

// Nudge tells the dispatcher that the sheet's log has grown; it never blocks (a nudge that
// does not fit is caught by the next poll) and may be called before Run, or without it.
func (d *Dispatcher) Nudge(roundID, country string) {
	d.init()
	select {
	case d.nudges <- Sheet{roundID, country}:
	default:
	}
}

// rewind is how many entries a first scan of a sheet rereads before its saved cursor: every
// handed job may be one entry.
func (d *Dispatcher) rewind() int { return d.queue() + d.Workers }

func (d *Dispatcher) queue() int { return d.Workers * 16 }

func (d *Dispatcher) wakeForRetries() {
	select {
	case d.retries <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) defaults() {
	d.init()
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
	if d.RetryPoll <= 0 {
		d.RetryPoll = 15 * time.Second
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
		d.Client = d.Reach.Client(d.Timeout)
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight to be recorded.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	jobs := make(chan job, d.queue())
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

	s := &scanner{d: d, jobs: jobs, cursors: map[Sheet]int64{}, seen: map[string]time.Time{}}
	warn := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			d.Logger.WarnContext(ctx, "notifications: "+what+" failed; trying again at the next poll", "error", err.Error())
		}
	}
	poll := time.NewTicker(d.Poll)
	defer poll.Stop()
	retry := time.NewTicker(d.RetryPoll)
	defer retry.Stop()
	warn("scan", s.scanAll(ctx))
	warn("retry scan", s.retry(ctx))
	for {
		select {
		case <-ctx.Done():
			return
		case sh := <-d.nudges:
			warn("scan", s.scanSheet(ctx, sh, &webhookList{}))
		case <-poll.C:
			warn("scan", s.scanAll(ctx))
		case <-retry.C:
			warn("retry scan", s.retry(ctx))
		case <-d.retries:
			warn("retry scan", s.retry(ctx))
		}
	}
}

// scanner is the dispatcher's reading side: one goroutine, so its maps need no lock.
type scanner struct {
	d    *Dispatcher
	jobs chan<- job
	// cursors holds, per sheet, the last log position handed over (or found without work).
	cursors map[Sheet]int64
	// seen holds the retries handed to the workers, until they are long done.
	seen map[string]time.Time
}

func (s *scanner) scanAll(ctx context.Context) error {
	sheets, err := s.d.Store.ActiveSheets(ctx)
	if err != nil {
		return err
	}
	webhooks := &webhookList{}
	for _, sh := range sheets {
		if err := s.scanSheet(ctx, sh, webhooks); err != nil {
			return err
		}
	}
	return nil
}

// webhookList reads the webhooks once per scan, and only when an entry has work: a webhook
// created before an entry was read is in the list that entry is matched against.
type webhookList struct {
	ws     []Webhook
	loaded bool
}

func (l *webhookList) get(ctx context.Context, store DispatchStore) ([]Webhook, error) {
	if !l.loaded {
		ws, err := store.Webhooks(ctx)
		if err != nil {
			return nil, err
		}
		l.ws, l.loaded = ws, true
	}
	return l.ws, nil
}

// scanSheet reads the sheet's log forward from its cursor and hands every notification to the
// workers.
func (s *scanner) scanSheet(ctx context.Context, sh Sheet, webhooks *webhookList) error {
	d := s.d
	seq, ok := s.cursors[sh]
	if !ok {
		var err error
		if seq, err = d.Store.StartSeq(ctx, sh); err != nil {
			return err
		}
		// The saved cursor counts entries handed to the workers, not claimed: an instance
		// that stopped may have saved it past entries whose jobs were still queued. At most
		// a queue and a job per worker of them, so reading that many again (their claims
		// fail where they were made) loses none.
		seq = max(0, seq-int64(d.rewind()))
	}
	start := seq
	defer func() {
		s.cursors[sh] = seq
		if seq > start {
			if err := d.Store.SaveSheetCursor(ctx, sh, seq); err != nil && ctx.Err() == nil {
				d.Logger.WarnContext(ctx, "notifications: cursor not saved; a restart reads a little more log", "error", err.Error())
			}
		}
	}()
	for {
		e, found, err := d.Store.Entry(ctx, EntryID(sh.Round, sh.Country, seq+1))
		if err != nil || !found {
			return err
		}
		if ns := From(e); len(ns) > 0 {
			ws, err := webhooks.get(ctx, d.Store)
			if err != nil {
				return err
			}
			for _, n := range ns {
				for _, w := range ws {
					if !w.Wants(n.Kind) || e.Time.Before(w.CreatedAt) {
						continue
					}
					if !s.hand(ctx, job{webhook: w, n: n, attempt: 1}) {
						return ctx.Err()
					}
				}
			}
		}
		seq++
	}
}

// hand gives j to the workers; false when ctx ended first.
func (s *scanner) hand(ctx context.Context, j job) bool {
	select {
	case s.jobs <- j:
		return true
	case <-ctx.Done():
		return false
	}
}

// retry hands over the next attempt of every delivery whose last attempt is due.
func (s *scanner) retry(ctx context.Context) error {
	d := s.d
	now := d.Now()
	for key, t := range s.seen {
		if now.Sub(t) > d.Timeout+d.LeaseMargin+time.Minute {
			delete(s.seen, key)
		}
	}
	due, err := d.Store.DueAttempts(ctx, now)
	if err != nil || len(due) == 0 {
		return err
	}
	webhooks, err := d.Store.Webhooks(ctx)
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
			// The webhook is gone, or this was the last attempt and its instance stopped
			// before recording the outcome: nothing follows.
			final := a
			final.Status, final.RetryAt, final.Finished = StatusFailed, time.Time{}, now
			switch {
			case !ok:
				final.Error = "webhook deleted"
			case final.Error == "":
				final.Error = "lease expired before the outcome was recorded"
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
		if !s.hand(ctx, job{webhook: w, n: n, attempt: a.N + 1, prev: &prev}) {
			return ctx.Err()
		}
		s.seen[key] = now
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
	if d.OnAttempt != nil {
		d.OnAttempt(a.Status)
	}
	// Recorded even when ctx ended meanwhile (shutdown): the outcome is known.
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.Store.FinishAttempt(rec, a); err != nil {
		d.Logger.WarnContext(ctx, "notifications: outcome not recorded; the attempt is retried after its lease",
			"attempt", AttemptID(a.Webhook, a.Event, a.N), "error", err.Error())
		return
	}
	if !a.RetryAt.IsZero() {
		// This instance looks for due retries when this one is due, rather than at its next
		// RetryPoll; whichever instance claims it first sends it.
		time.AfterFunc(a.RetryAt.Sub(a.Finished), d.wakeForRetries)
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
	// Read a little of the answer so that the connection can be reused; the body means nothing.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	resp.Body.Close()
	return resp.StatusCode, nil
}
