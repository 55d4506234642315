package app

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/expertsurvey/expertsurvey/notify"
	"github.com/expertsurvey/expertsurvey/round"
)

// NotifyOptions configures the delivery of notifications to webhooks. Zero values take the
// dispatcher's defaults (notify.Dispatcher).
type NotifyOptions struct {
	// Workers is how many deliveries run at once on this instance; negative disables
	// delivery here (other instances deliver).
	Workers int
	// Poll is how often every active sheet's log is probed for entries other instances
	// wrote; this instance's own writes are looked at at once.
	Poll time.Duration
	// RetryPoll is how often due retries are looked for.
	RetryPoll time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Backoff overrides notify.DefaultBackoff (tests shorten it).
	Backoff notify.Backoff
	// AllowHTTP accepts plain-http webhook URLs to hosts other than localhost.
	AllowHTTP bool
	// AllowNetworks lists the non-public networks webhooks may reach (notify.Reach); nil
	// allows loopback in development and nothing in production.
	AllowNetworks []netip.Prefix
	// Instance names this instance in the attempts it claims (host and process when empty).
	Instance string
}

// newDispatcher builds the instance's dispatcher and registers its metric: the finished
// delivery attempts by status (delivered, failed), so that an alert can watch failures.
func newDispatcher(store notify.DispatchStore, opts Options) *notify.Dispatcher {
	o := opts.Notify
	if o.Instance == "" {
		host, _ := os.Hostname()
		o.Instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "expertsurvey_webhook_attempts_total",
		Help: "Webhook delivery attempts finished by this instance, by status (delivered, failed)."}, []string{"status"})
	opts.Metrics.Register(attempts)
	return &notify.Dispatcher{Store: store, Reach: webhookReach(opts), Workers: o.Workers, Poll: o.Poll, RetryPoll: o.RetryPoll, Timeout: o.Timeout,
		Backoff: o.Backoff, Now: opts.Now, Logger: opts.Logger, Instance: o.Instance,
		OnAttempt: func(status string) { attempts.WithLabelValues(status).Inc() }}
}

// webhookReach is what webhooks may connect to: public addresses, the listed networks and, in
// development when none are listed, this host (a receiver started beside the service).
func webhookReach(opts Options) notify.Reach {
	allow := opts.Notify.AllowNetworks
	if allow == nil && !opts.Production {
		allow = notify.Loopback
	}
	return notify.Reach{Allow: allow}
}

// Notifier is the dispatcher RunNotifications runs; tests shorten its polls and backoff
// before running it.
func (a *App) Notifier() *notify.Dispatcher { return a.dispatcher }

// RunNotifications delivers notifications to the configured webhooks until ctx ends, and
// returns once the attempts in flight are recorded. Every instance may run it: each attempt is
// claimed by a unique insert, so a notification is delivered by one instance. It runs beside
// the HTTP server, never inside a request.
func (a *App) RunNotifications(ctx context.Context) {
	if a.notify.Workers < 0 {
		return
	}
	a.dispatcher.Run(ctx)
}

// nudgingSheets tells the dispatcher about every sheet this instance appended to, so that
// its notifications leave at once instead of at the next poll. The nudge is a non-blocking
// send on a buffered channel: it costs the request nothing, whatever the webhooks do.
type nudgingSheets struct {
	round.SheetStore
	nudge func(roundID, country string)
}

func (n nudgingSheets) UpdateSheet(ctx context.Context, roundID, country string, decide func(*round.Sheet) (*round.Change, error)) (*round.Sheet, error) {
	sh, err := n.SheetStore.UpdateSheet(ctx, roundID, country, decide)
	if err == nil {
		n.nudge(roundID, country)
	}
	return sh, err
}
