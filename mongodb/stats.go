package mongodb

import "context"

// Stats are the store's own counters since it was opened, exported as metrics and read by the
// benchmarks: what the sheet cache holds and how it serves, and what the writes cost.
type Stats struct {
	Cache CacheStats
	// LogBatches and LogEntries count the group commits and the log entries they carried;
	// LogBytes is the entries' encoded size.
	LogBatches, LogEntries, LogBytes int64
	// Checkpoints and CheckpointBytes count the sheet projections rewritten in the
	// background; CheckpointFailures those that could not be (the log still had them).
	Checkpoints, CheckpointBytes, CheckpointFailures int64
	// ConnectionsOpen and ConnectionsInUse are the driver's connections to the server: open
	// (in the pool or in use), and checked out by an operation now.
	ConnectionsOpen, ConnectionsInUse int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	st := Stats{Cache: s.sheets.snapshot()}
	st.LogBatches, st.LogEntries, st.LogBytes = s.commit.stats()
	st.Checkpoints = s.checkpoints.written.Load()
	st.CheckpointBytes = s.checkpoints.bytes.Load()
	st.CheckpointFailures = s.checkpoints.failed.Load()
	if s.conns != nil {
		st.ConnectionsOpen, st.ConnectionsInUse = s.conns.open.Load(), s.conns.inUse.Load()
	}
	return st
}

// WaitForCheckpoints returns once the sheet projections due so far are written, or ctx ends.
func (s *Store) WaitForCheckpoints(ctx context.Context) { s.checkpoints.wait(ctx) }
