package mongodb_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

func TestMain(m *testing.M) { mongodbtest.Main(m) }

// The whole concurrency design rests on this: of racing inserts under one key, exactly one wins.
func TestRacingInsertsOfOneKeyHaveOneWinner(t *testing.T) {
	s := mongodbtest.New(t)
	col := s.Database().Collection("race")
	ctx := context.Background()
	for round := range 5 {
		var wg sync.WaitGroup
		wins := make(chan int, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := col.InsertOne(ctx, bson.D{{Key: "_id", Value: round}, {Key: "g", Value: g}}); err == nil {
					wins <- g
				}
			}()
		}
		wg.Wait()
		close(wins)
		if n := len(wins); n != 1 {
			t.Fatalf("round %d: %d inserts won, want exactly 1", round, n)
		}
	}
}

func TestEmbeddedStoreKeepsDataAcrossRestart(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("uses the embedded store's files")
	}
	dir := t.TempDir()
	ctx := context.Background()
	open := func() *mongodb.Store {
		s, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if _, err := s.Database().Collection("kept").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "v", Value: 42}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = open()
	defer s.Close(ctx)
	var got struct {
		V int `bson:"v"`
	}
	if err := s.Database().Collection("kept").FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&got); err != nil {
		t.Fatalf("read back after restart: %v", err)
	}
	if got.V != 42 {
		t.Fatalf("got %d, want 42", got.V)
	}
}

func TestEnsureIndexesIsIdempotent(t *testing.T) {
	s := mongodbtest.New(t) // already ran once
	if err := s.EnsureIndexes(context.Background()); err != nil {
		t.Fatalf("second run: %v", err)
	}
}

func TestBusyEmbeddedAddressIsAnError(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("embedded only")
	}
	ctx := context.Background()
	a, err := mongodb.StartEmbedded(ctx, t.TempDir(), "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	addr := a.URI()[len("mongodb://") : len(a.URI())-1]
	if b, err := mongodb.StartEmbedded(ctx, t.TempDir(), addr, slog.New(slog.DiscardHandler)); err == nil {
		b.Close()
		t.Fatalf("second server on %s started; want an error", addr)
	}
}

// The binary's default store address is a Unix socket in a directory only the service's user
// can enter: no other local user can reach the store, which has no authentication of its own.
// A second process on the same data directory is refused; a socket left by a killed one is not
// in the way.
func TestEmbeddedSocketIsPrivate(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("embedded only")
	}
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	e, err := mongodb.StartEmbedded(ctx, dir, mongodb.EmbeddedSocket, logger)
	if err != nil {
		t.Fatal(err)
	}
	sockDir := filepath.Join(dir, ".store")
	if fi, err := os.Stat(sockDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory %v, %v; want mode 0700", fi, err)
	}
	if !strings.Contains(e.URI(), "store.sock") {
		t.Fatalf("URI %q does not name the socket", e.URI())
	}
	s, err := mongodb.Open(ctx, mongodb.Config{URI: e.URI(), Database: "sock", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("a client through the socket: %v", err)
	}
	_ = s.Close(ctx)
	if other, err := mongodb.StartEmbedded(ctx, dir, mongodb.EmbeddedSocket, logger); err == nil {
		other.Close()
		t.Fatal("a second store on a data directory in use started")
	}
	e.Close()
	// What a SIGKILL leaves: the socket file, with nobody listening.
	if _, err := os.Stat(filepath.Join(sockDir, "store.sock")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(sockDir, "store.sock"))
	if err == nil {
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	}
	again, err := mongodb.StartEmbedded(ctx, dir, mongodb.EmbeddedSocket, logger)
	if err != nil {
		t.Fatalf("restart over a stale socket: %v", err)
	}
	again.Close()
}
