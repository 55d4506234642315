package mongodb_test

import (
	"context"
	"log/slog"
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
