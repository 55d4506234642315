package mongodb

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// committer writes the log entries of concurrent writers of one instance together: group
// commit. A writer hands its entry over and waits; whichever entries are waiting when the store
// is free go out as one unordered insertMany, in which each entry is still its own insert under
// its own unique _id, so a lost race fails only that entry's write. Sixteen single inserts
// queueing on the embedded store's one write lock are its worst case (SQLite's busy handler
// sleeps a waiting writer for up to 100 ms a try); one insert of sixteen entries is its best.
// A write is acknowledged only after the insertMany that carries it has returned.
type committer struct {
	col *mongo.Collection
	// inFlight bounds how many insertMany commands run at once: one for a store with a single
	// writer lock, a few for MongoDB, where batches of different writers proceed in parallel.
	inFlight int
	timeout  time.Duration

	mu       sync.Mutex
	pending  []*pendingInsert
	flushing int
	batches  int64
	docs     int64
	bytes    int64
}

type pendingInsert struct {
	doc  bson.Raw
	done chan error
}

// maxBatch bounds one insertMany; the driver splits larger payloads by size itself.
const maxBatch = 256

// errDuplicate reports that another writer holds the entry's _id.
var errDuplicate = errors.New("duplicate log position")

func newCommitter(col *mongo.Collection, inFlight int) *committer {
	return &committer{col: col, inFlight: max(1, inFlight), timeout: 30 * time.Second}
}

// insert writes doc with the next batch and reports errDuplicate when its _id is taken. It waits
// for the batch even when ctx ends first: by then the entry may be written, and the caller must
// not act as if it were not.
func (c *committer) insert(ctx context.Context, doc any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// Encoded here, by the writer, so that the size is known and the batch's writer only
	// sends bytes.
	raw, err := bson.Marshal(doc)
	if err != nil {
		return err
	}
	p := &pendingInsert{doc: bson.Raw(raw), done: make(chan error, 1)}
	c.mu.Lock()
	c.bytes += int64(len(raw))
	c.pending = append(c.pending, p)
	if c.flushing < c.inFlight {
		c.flushing++
		go c.flush()
	}
	c.mu.Unlock()
	return <-p.done
}

// flush writes batches until nothing waits.
func (c *committer) flush() {
	for {
		c.mu.Lock()
		n := min(len(c.pending), maxBatch)
		if n == 0 {
			c.flushing--
			c.mu.Unlock()
			return
		}
		batch := c.pending[:n:n]
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil // let the backing array go
		}
		c.batches++
		c.docs += int64(n)
		c.mu.Unlock()
		c.write(batch)
	}
}

func (c *committer) write(batch []*pendingInsert) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var err error
	if len(batch) == 1 {
		_, err = c.col.InsertOne(ctx, batch[0].doc)
		if mongo.IsDuplicateKeyError(err) {
			err = errDuplicate
		}
		batch[0].done <- err
		return
	}
	docs := make([]any, len(batch))
	for i, p := range batch {
		docs[i] = p.doc
	}
	_, err = c.col.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	results := make([]error, len(batch))
	var bwe mongo.BulkWriteException
	switch {
	case err == nil:
	case errors.As(err, &bwe) && bwe.WriteConcernError == nil:
		for _, we := range bwe.WriteErrors {
			if we.Index < 0 || we.Index >= len(batch) {
				continue
			}
			if mongo.IsDuplicateKeyError(we) {
				results[we.Index] = errDuplicate
			} else {
				results[we.Index] = we
			}
		}
	default:
		// The command failed as a whole (or its write concern did): no entry is known to
		// be written, and none is acknowledged.
		for i := range results {
			results[i] = err
		}
	}
	for i, p := range batch {
		p.done <- results[i]
	}
}

// stats reports how many batches, entries and bytes were sent.
func (c *committer) stats() (batches, docs, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches, c.docs, c.bytes
}
