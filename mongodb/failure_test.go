package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/expertsurvey/expertsurvey"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// A server that refuses connections is "unavailable", after about the server selection timeout
// rather than the driver's default 30 s.
func TestClassifyUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // now nothing listens there
	client, err := mongodb.Connect("mongodb://"+addr+"/", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	err = client.Database("x").Collection("y").FindOne(context.Background(), map[string]any{"_id": "a"}).Err()
	if got := mongodb.Classify(err); !errors.Is(got, expertsurvey.ErrStoreUnavailable) {
		t.Fatalf("Classify(%v) = %v, want ErrStoreUnavailable", err, got)
	}
}

func TestClassify(t *testing.T) {
	// What FerretDB's SQLite backend answers on a full disk: SQLite's message inside a command error.
	full := mongo.CommandError{Code: 1, Message: "sqlite: step: database or disk is full (13)"}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel2()
	<-expired.Done()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"disk full", fmt.Errorf("save: %w", full), expertsurvey.ErrStoreFull},
		{"operation timeout", fmt.Errorf("read: %w", expired.Err()), expertsurvey.ErrStoreUnavailable},
		{"client cancelled", fmt.Errorf("read: %w", cancelled.Err()), nil},
		{"duplicate key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mongodb.Classify(tc.err)
			for _, sentinel := range []error{expertsurvey.ErrStoreFull, expertsurvey.ErrStoreUnavailable} {
				if errors.Is(got, sentinel) != (sentinel == tc.want) {
					t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
				}
			}
			if !strings.Contains(got.Error(), tc.err.Error()) {
				t.Errorf("Classify dropped the cause %v", tc.err)
			}
		})
	}
}
