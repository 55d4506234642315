package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/notify"
)

// sheetEntry is a sheet log entry as the sheet store writes it, with one review move: a
// submission (a sheet.submitted notification).
func sheetEntry(country string, seq int64, at time.Time) bson.D {
	stream := "sheet/r1/" + country
	return bson.D{
		{Key: "_id", Value: fmt.Sprintf("%s/%012d", stream, seq)}, {Key: "stream", Value: stream}, {Key: "seq", Value: seq},
		{Key: "actor", Value: "u_eva"}, {Key: "action", Value: "review.submit"}, {Key: "entity", Value: stream}, {Key: "time", Value: at.UTC()},
		{Key: "after", Value: bson.D{{Key: "action", Value: "review.submit"}, {Key: "status", Value: "submitted"}, {Key: "review", Value: bson.A{
			bson.D{{Key: "move", Value: "review.submit"}, {Key: "actor", Value: bson.D{{Key: "id", Value: "u_eva"}, {Key: "role", Value: "expert"}}},
				{Key: "sheet", Value: bson.A{bson.D{{Key: "move", Value: "review.submit"}, {Key: "from", Value: "in_progress"}, {Key: "to", Value: "submitted"}}}}},
		}}}},
	}
}

func TestNotifyStore(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	events := s.Database().Collection("events")
	if _, err := events.InsertMany(ctx, []any{sheetEntry("AT", 1, t0), sheetEntry("BE", 1, t0.Add(time.Second)),
		bson.D{{Key: "_id", Value: "round/r1/000000000001"}, {Key: "stream", Value: "round/r1"}, {Key: "time", Value: t0}, {Key: "after", Value: bson.D{}}}}); err != nil {
		t.Fatal(err)
	}

	e, ok, err := s.Entry(ctx, "sheet/r1/BE/000000000001")
	if err != nil || !ok || e.Round != "r1" || e.Country != "BE" || e.Seq != 1 || !e.Time.Equal(t0.Add(time.Second)) || len(e.Moves) != 1 {
		t.Fatalf("Entry = %+v, %v, %v", e, ok, err)
	}
	if n := notify.From(e); len(n) != 1 || n[0].Kind != notify.KindSheetSubmitted {
		t.Fatalf("notifications of the entry read back: %+v", n)
	}
	if _, ok, err := s.Entry(ctx, "sheet/r1/BE/000000000002"); ok || err != nil {
		t.Fatalf("a position not written yet: %v %v", ok, err)
	}

	// A sheet nobody looked at starts at its checkpoint (0: none); the cursor only moves forward.
	at := notify.Sheet{Round: "r1", Country: "AT"}
	if seq, err := s.StartSeq(ctx, at); seq != 0 || err != nil {
		t.Fatalf("StartSeq before any cursor: %d %v", seq, err)
	}
	for _, seq := range []int64{7, 3} {
		if err := s.SaveSheetCursor(ctx, at, seq); err != nil {
			t.Fatal(err)
		}
	}
	if seq, err := s.StartSeq(ctx, at); seq != 7 || err != nil {
		t.Fatalf("StartSeq = %d, %v; want 7", seq, err)
	}

	// Eight instances claim the same attempt at once: exactly one wins.
	a := notify.Attempt{Webhook: "wh_1", Event: "sheet/r1/AT/000000000001/sheet.submitted", Kind: notify.KindSheetSubmitted, N: 1,
		Status: notify.StatusSending, At: t0, LeaseUntil: t0.Add(time.Minute)}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ok, err := mongodbtest.SecondInstance(t, s).ClaimAttempt(ctx, a)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d instances won the claim, want 1", wins.Load())
	}
	// Its lease is not over: nothing is due. After it, the attempt is.
	if due, err := s.DueAttempts(ctx, t0.Add(time.Second)); err != nil || len(due) != 0 {
		t.Fatalf("due before the lease ends: %+v %v", due, err)
	}
	if due, err := s.DueAttempts(ctx, t0.Add(time.Minute)); err != nil || len(due) != 1 || due[0].Status != notify.StatusSending {
		t.Fatalf("due after the lease: %+v %v", due, err)
	}
}

// TestLeaseTakeover: an instance claimed a delivery and stopped before recording the outcome;
// after its lease another instance sends attempt 2, marks attempt 1 abandoned, and the delivery
// is delivered once.
func TestLeaseTakeover(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(notify.HeaderAttempt) != "2" {
			t.Errorf("attempt %s delivered, want 2", r.Header.Get(notify.HeaderAttempt))
		}
		got.Add(1)
	}))
	defer srv.Close()
	past := time.Now().Add(-time.Hour).UTC()
	if err := s.CreateWebhook(ctx, notify.Webhook{ID: "wh_t", URL: srv.URL, Secret: "whsec_x", CreatedAt: past.Add(-time.Hour)}, "u_admin", past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Database().Collection("events").InsertOne(ctx, sheetEntry("AT", 1, past)); err != nil {
		t.Fatal(err)
	}
	event := "sheet/r1/AT/000000000001/sheet.submitted"
	if ok, err := s.ClaimAttempt(ctx, notify.Attempt{Webhook: "wh_t", Event: event, Kind: notify.KindSheetSubmitted, N: 1,
		Status: notify.StatusSending, At: past, LeaseUntil: past.Add(time.Minute), Instance: "dead"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d := &notify.Dispatcher{Store: s, Poll: 10 * time.Millisecond, Instance: "alive", Reach: notify.Reach{Allow: notify.Loopback}}
	go func() { defer close(done); d.Run(runCtx) }()
	deadline := time.Now().Add(time.Minute)
	var ds []notify.Delivery
	for time.Now().Before(deadline) {
		var err error
		if ds, err = s.Deliveries(ctx, "wh_t", "", 10); err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].State == notify.DeliveryDelivered {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(ds) != 1 || len(ds[0].Attempts) != 2 || ds[0].Attempts[0].Status != notify.StatusAbandoned ||
		ds[0].Attempts[1].Status != notify.StatusDelivered || ds[0].Attempts[1].Instance != "alive" || got.Load() != 1 {
		t.Fatalf("deliveries %+v, received %d", ds, got.Load())
	}
}

// BenchmarkNotifyProbe measures what a dispatcher's poll costs per active sheet on a log of
// 10,000 entries: one point read of the position after the sheet's cursor, which is not
// written yet (the common case), or is (then decoded for its review moves).
func BenchmarkNotifyProbe(b *testing.B) {
	s := mongodbtest.New(b)
	ctx := context.Background()
	old := time.Now().Add(-24 * time.Hour)
	for batch := range 10 {
		docs := make([]any, 1000)
		for i := range docs {
			docs[i] = sheetEntry(fmt.Sprintf("C%d", batch), int64(i+1), old)
		}
		if _, err := s.Database().Collection("events").InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name  string
		seq   int64
		found bool
	}{{"miss", 1001, false}, {"hit", 500, true}} {
		b.Run(bc.name, func(b *testing.B) {
			id := notify.EntryID("r1", "C3", bc.seq)
			for b.Loop() {
				if _, ok, err := s.Entry(ctx, id); err != nil || ok != bc.found {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// TestDeletedWebhookStopsRetries: a delivery waiting for its retry when its webhook is deleted
// ends failed ("webhook deleted"), and nothing is sent.
func TestDeletedWebhookStopsRetries(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := context.Background()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a deleted webhook received a delivery") }))
	defer srv.Close()
	past := time.Now().Add(-time.Hour).UTC()
	if err := s.CreateWebhook(ctx, notify.Webhook{ID: "wh_d", URL: srv.URL, Secret: "whsec_x", CreatedAt: past}, "u_admin", past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Database().Collection("events").InsertOne(ctx, sheetEntry("AT", 1, past)); err != nil {
		t.Fatal(err)
	}
	event := "sheet/r1/AT/000000000001/sheet.submitted"
	if ok, err := s.ClaimAttempt(ctx, notify.Attempt{Webhook: "wh_d", Event: event, Kind: notify.KindSheetSubmitted, N: 1, Status: notify.StatusFailed,
		Code: 500, Error: "HTTP 500", At: past, Finished: past, LeaseUntil: past.Add(time.Minute), RetryAt: past.Add(time.Minute)}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if err := s.DeleteWebhook(ctx, "wh_d", "u_admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWebhook(ctx, "wh_d", "u_admin", time.Now()); !errors.Is(err, notify.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d := &notify.Dispatcher{Store: s, Poll: 10 * time.Millisecond, RetryPoll: 10 * time.Millisecond, Reach: notify.Reach{Allow: notify.Loopback}}
	go func() { defer close(done); d.Run(runCtx) }()
	var ds []notify.Delivery
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var err error
		if ds, err = s.Deliveries(ctx, "wh_d", "", 10); err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && ds[0].State != notify.DeliveryPending {
			break
		}
	}
	cancel()
	<-done
	if len(ds) != 1 || ds[0].State != notify.DeliveryFailed || len(ds[0].Attempts) != 1 || ds[0].Attempts[0].Error != "webhook deleted" {
		t.Fatalf("deliveries %+v", ds)
	}
}
