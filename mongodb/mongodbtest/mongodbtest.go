// Package mongodbtest gives tests a real store: one embedded FerretDB per test binary (or the
// server named by MONGODB_URI) and a fresh database per test.
package mongodbtest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/mongodb"
)

var (
	shared  *mongodb.Store
	dataDir string
	counter atomic.Int64
	mu      sync.Mutex
)

// Main starts the shared server, runs the tests and stops it; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = shared.Close(ctx)
		cancel()
	}
	if dataDir != "" {
		_ = os.RemoveAll(dataDir)
	}
	mu.Unlock()
	os.Exit(code)
}

// URI returns the address of the shared server, starting it on first use; a second service
// instance in a test connects to it.
func URI(tb testing.TB) string {
	return server(tb).URI()
}

func server(tb testing.TB) *mongodb.Store {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared != nil {
		return shared
	}
	cfg := mongodb.Config{URI: os.Getenv("MONGODB_URI"), Logger: slog.New(slog.DiscardHandler)}
	if cfg.URI == "" {
		dir, err := os.MkdirTemp("", "expertsurvey-test-")
		if err != nil {
			tb.Fatalf("temp dir: %v", err)
		}
		dataDir, cfg.DataDir = dir, dir
	}
	s, err := mongodb.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	shared = s
	return s
}

// New returns a store on a database of its own, with the service's indexes, dropped when the
// test ends.
func New(tb testing.TB) *mongodb.Store {
	tb.Helper()
	name := DatabaseName(tb)
	s := server(tb).WithDatabase(name)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	if err := s.EnsureIndexes(ctx); err != nil {
		tb.Fatalf("indexes: %v", err)
	}
	tb.Cleanup(func() { _ = s.DropDatabase(context.Background()) })
	return s
}

// DatabaseName is a database name unique to this test within the binary run.
func DatabaseName(tb testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, tb.Name())
	if len(name) > 30 {
		name = name[:30]
	}
	return fmt.Sprintf("t%d_%d_%s", os.Getpid()%100000, counter.Add(1), name)
}

// External reports whether the tests run against a server named by MONGODB_URI.
func External() bool { return os.Getenv("MONGODB_URI") != "" }

// SecondInstance opens another connection to the database of s, as a second service instance
// sharing the store would.
func SecondInstance(tb testing.TB, s *mongodb.Store) *mongodb.Store {
	tb.Helper()
	other, err := mongodb.Open(context.Background(), mongodb.Config{URI: s.URI(), Database: s.Database().Name()})
	if err != nil {
		tb.Fatalf("second instance: %v", err)
	}
	tb.Cleanup(func() { _ = other.Close(context.Background()) })
	return other
}
