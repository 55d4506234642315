package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/expertsurvey/expertsurvey/mongodb"
)

// storeCollectors exports the store's own counters: how the sheet cache serves and what it
// holds against its budget, and what writes cost (group commits, entries per commit, bytes sent,
// background checkpoints).
func storeCollectors(store *mongodb.Store) []prometheus.Collector {
	counter := func(name, help string, f func(mongodb.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(store.Stats())) })
	}
	gauge := func(name, help string, f func(mongodb.Stats) int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return float64(f(store.Stats())) })
	}
	return []prometheus.Collector{
		counter("expertsurvey_sheet_cache_hits_total", "Sheet reads served from this instance's cache.", func(s mongodb.Stats) int64 { return s.Cache.Hits }),
		counter("expertsurvey_sheet_cache_misses_total", "Sheet reads that had to load the sheet from the store.", func(s mongodb.Stats) int64 { return s.Cache.Misses }),
		counter("expertsurvey_sheet_cache_evictions_total", "Sheets dropped from the cache to stay within its byte budget.", func(s mongodb.Stats) int64 { return s.Cache.Evictions }),
		gauge("expertsurvey_sheet_cache_bytes", "Estimated memory held by the cached sheets.", func(s mongodb.Stats) int64 { return s.Cache.Bytes }),
		gauge("expertsurvey_sheet_cache_budget_bytes", "The sheet cache's byte budget (--cache-bytes).", func(s mongodb.Stats) int64 { return s.Cache.Budget }),
		gauge("expertsurvey_sheet_cache_entries", "Sheets in the cache.", func(s mongodb.Stats) int64 { return int64(s.Cache.Entries) }),
		counter("expertsurvey_log_commits_total", "Group commits: insertMany commands carrying log entries.", func(s mongodb.Stats) int64 { return s.LogBatches }),
		counter("expertsurvey_log_entries_total", "Log entries written (saves, status changes, ...).", func(s mongodb.Stats) int64 { return s.LogEntries }),
		counter("expertsurvey_log_bytes_total", "Encoded bytes of the log entries written.", func(s mongodb.Stats) int64 { return s.LogBytes }),
		counter("expertsurvey_sheet_checkpoints_total", "Sheet projections rewritten in the background.", func(s mongodb.Stats) int64 { return s.Checkpoints }),
		counter("expertsurvey_sheet_checkpoint_bytes_total", "Encoded bytes of the sheet projections rewritten.", func(s mongodb.Stats) int64 { return s.CheckpointBytes }),
		gauge("expertsurvey_store_connections_open", "The driver's connections to the store, in the pool or in use.", func(s mongodb.Stats) int64 { return s.ConnectionsOpen }),
		gauge("expertsurvey_store_connections_in_use", "Connections to the store checked out by an operation now; at rest it returns to 0.", func(s mongodb.Stats) int64 { return s.ConnectionsInUse }),
		counter("expertsurvey_sheet_checkpoint_failures_total", "Sheet projections that could not be written (the log still holds the changes).", func(s mongodb.Stats) int64 { return s.CheckpointFailures }),
	}
}
