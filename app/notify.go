package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/expertsurvey/expertsurvey/notify"
)

// NotifyOptions configures the delivery of notifications to webhooks. Zero values take the
// dispatcher's defaults (notify.Dispatcher).
type NotifyOptions struct {
	// Workers is how many deliveries run at once on this instance; negative disables
	// delivery here (other instances deliver).
	Workers int
	// Poll is how often the log and the due retries are read.
	Poll time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Backoff overrides notify.DefaultBackoff (tests shorten it).
	Backoff notify.Backoff
	// AllowHTTP accepts plain-http webhook URLs to hosts other than localhost.
	AllowHTTP bool
	// Instance names this instance in the attempts it claims (host and process when empty).
	Instance string
}

// RunNotifications delivers notifications to the configured webhooks until ctx ends. Every
// instance may run it: each attempt is claimed by a unique insert, so an event is delivered
// by one instance. It runs beside the HTTP server, never inside a request.
func (a *App) RunNotifications(ctx context.Context) {
	o := a.notify
	if o.Workers < 0 {
		return
	}
	if o.Instance == "" {
		host, _ := os.Hostname()
		o.Instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	d := &notify.Dispatcher{Store: a.store, Workers: o.Workers, Poll: o.Poll, Timeout: o.Timeout, Backoff: o.Backoff,
		Now: a.now, Logger: a.logger, Instance: o.Instance}
	d.Run(ctx)
}
