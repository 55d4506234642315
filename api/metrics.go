package api

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the service's Prometheus collectors in a registry of its own, so that several
// servers in one test binary do not collide on the global registry.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	store    *prometheus.HistogramVec
	build    *prometheus.GaugeVec
	swept    *prometheus.CounterVec
	sweptAt  prometheus.Gauge
	// shed counts requests answered 503/429 by the load shedder (shed.go), by class and reason.
	shed *prometheus.CounterVec
}

// NewMetrics registers the HTTP, store and Go runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "expertsurvey_http_requests_total",
			Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "expertsurvey_http_request_duration_seconds",
			Help:    "HTTP request latency by method, route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		store: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "expertsurvey_store_command_duration_seconds",
			Help:    "Store command latency by command and outcome.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"command", "outcome"}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "expertsurvey_build_info",
			Help: "Always 1; its labels name the running build, so that dashboards can tell versions apart during a rollout.",
		}, []string{"version", "goversion"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "expertsurvey_swept_rows_total",
			Help: "Expired rows removed by the periodic sweep, by kind (refresh_tokens, login_failures, ...).",
		}, []string{"kind"}),
		sweptAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "expertsurvey_sweep_last_success_timestamp_seconds",
			Help: "When this instance last completed a sweep (Unix time); alert when it falls far behind.",
		}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "expertsurvey_http_shed_total",
			Help: "Requests refused by load shedding, by class (read, write) and reason (busy: 503, the class's slots and queue are full; client: 429, one client has too many requests in flight).",
		}, []string{"class", "reason"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.store, m.build, m.swept, m.sweptAt, m.shed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeRequest(method, route string, status int, took time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(method, route, s).Inc()
	m.latency.WithLabelValues(method, route, s).Observe(took.Seconds())
}

// ObserveStore records one store command; the store adapter calls it from the driver's monitor.
func (m *Metrics) ObserveStore(command string, took time.Duration, failed bool) {
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.store.WithLabelValues(command, outcome).Observe(took.Seconds())
}

// CountSwept records rows removed by a sweep; a sweep that removed nothing still creates the
// series, so that an alert can tell "sweeping, nothing to do" from "not sweeping".
func (m *Metrics) CountSwept(kind string, n int64) {
	m.swept.WithLabelValues(kind).Add(float64(n))
}

// SweepSucceeded records the time of a completed sweep.
func (m *Metrics) SweepSucceeded(at time.Time) {
	m.sweptAt.Set(float64(at.UnixNano()) / 1e9)
}

func (m *Metrics) countShed(class, reason string) {
	m.shed.WithLabelValues(class, reason).Inc()
}

// watchInFlight exports the requests of one class holding a shedding slot now.
func (m *Metrics) watchInFlight(class string, f func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "expertsurvey_http_in_flight",
		Help:        "Requests of a class (read, write) holding a load-shedding slot now; compare with the configured limit.",
		ConstLabels: prometheus.Labels{"class": class},
	}, f))
}

func (m *Metrics) setBuildInfo(version string) {
	m.build.WithLabelValues(version, runtime.Version()).Set(1)
}

// Handler serves the metrics in Prometheus' text format, for a listener of their own
// (Config.SeparateMetrics).
func (m *Metrics) Handler() http.Handler { return m.handler() }

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Register adds collectors of other parts of the service (the store's caches and writes) to
// the registry /metrics serves.
func (m *Metrics) Register(cs ...prometheus.Collector) {
	m.registry.MustRegister(cs...)
}
