// Package mongodb is the one storage adapter: it connects to MongoDB (production) or starts an
// embedded FerretDB (development and tests), creates the indexes the service needs, and
// implements the store interfaces that the domain packages declare.
//
// Two facts about the embedded store shape every store here (docs/data-model.md, "How writes work"): updates are
// not atomic under concurrency while inserts under a unique index are, and only an exact
// {_id: value} filter is served by an index. So concurrency-sensitive changes are inserts of
// immutable documents under a unique key, and hot reads go by exact _id.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/expertsurvey/expertsurvey/round"
)

// Config says which server to use. With URI empty an embedded FerretDB is started on
// EmbeddedAddr (EmbeddedSocket, host:port, or a free loopback port when empty) with its SQLite
// files under DataDir.
type Config struct {
	URI          string
	Database     string
	DataDir      string
	EmbeddedAddr string
	Logger       *slog.Logger
	// OnCommand, when set, is told the duration of every store command, for metrics.
	OnCommand func(command string, took time.Duration, failed bool)
	// CacheBytes bounds the memory of the sheet cache; DefaultCacheBytes when zero.
	CacheBytes int64
	// Now is the clock of every time the store writes; time.Now when nil.
	Now func() time.Time
	// OperationTimeout bounds every store operation that its context does not bound already
	// (DefaultOperationTimeout when zero).
	OperationTimeout time.Duration
}

// Timeouts of the client. With the store down, a request must fail fast with "try again"
// rather than hang: a server that cannot be selected within ServerSelectionTimeout (refused
// connection, no primary) fails the operation, and any operation fails after its time budget.
// The budget is generous for a single command; imports of a whole round are one insertMany.
const (
	ServerSelectionTimeout = 1 * time.Second
	// ConnectTimeout also bounds the driver's heartbeats; a heartbeat that times out marks the
	// server unknown and fails the requests in flight, so it is kept well above what a busy but
	// healthy store needs to answer (a dead store still fails requests after
	// ServerSelectionTimeout).
	ConnectTimeout          = 5 * time.Second
	DefaultOperationTimeout = 10 * time.Second
	// heartbeatInterval is how often the driver re-checks a server; shorter than the default
	// 10 s so that a store that comes back is used again within a couple of seconds.
	heartbeatInterval = 2 * time.Second
	// maxConnecting bounds how many connections the pool opens at once. The driver shares the
	// server selection timeout between selecting the server and checking out a connection, so
	// with its default of 2 a burst of concurrent requests on a cold pool queued behind slow
	// handshakes and timed out as "unavailable" on a healthy, merely busy store (seen under the
	// race detector with 16 concurrent writers).
	maxConnecting = 16
)

// Store is an open connection to one database.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	embedded *Embedded
	uri      string
	// sheets, roundCache and userCache cache states read from the log; they belong to one
	// database.
	sheets     *sheetCache
	roundCache *roundCache
	// roundReads coalesces the concurrent probes of one round (coalesce.go).
	roundReads freshReads[roundJSON]
	// sheetReads coalesces the concurrent probes of one sheet.
	sheetReads freshReads[*round.Sheet]
	userCache  *userCache
	// commit writes log entries in batches; checkpoints rewrites sheet projections in the
	// background.
	commit      *committer
	checkpoints *checkpointer
	writers     keyLock
	// sqliteDir is the embedded store's directory, empty on another server.
	sqliteDir string
	// conns counts the driver's connections to the server (Stats).
	conns  *connCounts
	now    func() time.Time
	logger *slog.Logger
	cfg    Config
}

// Open connects to the configured server, starting the embedded one when no URI is given. It
// does not wait for the server to answer: Ping tells readiness.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Database == "" {
		cfg.Database = "expertsurvey"
	}
	s := &Store{uri: cfg.URI}
	if s.uri == "" {
		emb, err := StartEmbedded(ctx, cfg.DataDir, cfg.EmbeddedAddr, logger)
		if err != nil {
			return nil, err
		}
		s.embedded = emb
		s.uri = emb.URI()
		s.sqliteDir = emb.dir
	}
	s.conns = &connCounts{}
	client, err := connect(s.uri, cfg.OperationTimeout, cfg.OnCommand, s.conns)
	if err != nil {
		s.closeEmbedded()
		return nil, err
	}
	s.client = client
	s.init(client.Database(cfg.Database), cfg, logger)
	return s, nil
}

// init sets up what belongs to one database: caches, the group committer, the checkpointer.
func (s *Store) init(db *mongo.Database, cfg Config, logger *slog.Logger) {
	s.db, s.cfg, s.logger = db, cfg, logger
	s.now = cfg.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.sheets = newSheetCache(cfg.CacheBytes)
	s.roundCache = &roundCache{}
	s.userCache = newUserCache()
	// The embedded store has one write lock: one batch at a time is its fastest. MongoDB
	// writes batches of different sheets in parallel.
	inFlight := 4
	if s.sqliteDir != "" {
		inFlight = 1
	}
	s.commit = newCommitter(db.Collection(colEvents), inFlight)
	s.checkpoints = newCheckpointer(s)
}

// Connect returns a client for uri with the timeouts above (opTimeout <= 0 means
// DefaultOperationTimeout); the driver connects lazily. Settings in the URI
// (serverSelectionTimeoutMS, timeoutMS, ...) win over these defaults.
func Connect(uri string, opTimeout time.Duration, onCommand func(string, time.Duration, bool)) (*mongo.Client, error) {
	return connect(uri, opTimeout, onCommand, nil)
}

// connCounts are the driver's connections to the server: open, and checked out by an
// operation now. A request that ends, however it ends (a client hanging up included), must
// give its connection back: the leak tests and the metrics read these.
type connCounts struct{ open, inUse atomic.Int64 }

func (c *connCounts) monitor() *event.PoolMonitor {
	return &event.PoolMonitor{Event: func(e *event.PoolEvent) {
		switch e.Type {
		case event.ConnectionCreated:
			c.open.Add(1)
		case event.ConnectionClosed:
			c.open.Add(-1)
		case event.ConnectionCheckedOut:
			c.inUse.Add(1)
		case event.ConnectionCheckedIn:
			c.inUse.Add(-1)
		}
	}}
}

func connect(uri string, opTimeout time.Duration, onCommand func(string, time.Duration, bool), conns *connCounts) (*mongo.Client, error) {
	if opTimeout <= 0 {
		opTimeout = DefaultOperationTimeout
	}
	opts := options.Client().
		SetServerSelectionTimeout(ServerSelectionTimeout).
		SetConnectTimeout(ConnectTimeout).
		SetHeartbeatInterval(heartbeatInterval).
		SetMaxConnecting(maxConnecting).
		SetTimeout(opTimeout).
		ApplyURI(uri)
	if onCommand != nil {
		opts.SetMonitor(&event.CommandMonitor{
			Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
				onCommand(e.CommandName, e.Duration, false)
			},
			Failed: func(_ context.Context, e *event.CommandFailedEvent) {
				onCommand(e.CommandName, e.Duration, true)
			},
		})
	}
	if conns != nil {
		opts.SetPoolMonitor(conns.monitor())
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redactURI(uri), err)
	}
	return client, nil
}

// WithDatabase returns a Store on another database of the same connection; tests use it to give
// every test its own database.
func (s *Store) WithDatabase(name string) *Store {
	out := &Store{client: s.client, uri: s.uri, sqliteDir: s.sqliteDir, conns: s.conns}
	out.init(s.client.Database(name), s.cfg, s.logger)
	return out
}

// URI is the address of the server in use; for the embedded store another instance of the
// service can share it through MONGODB_URI.
func (s *Store) URI() string { return s.uri }

// Embedded reports whether the store is the in-process FerretDB.
func (s *Store) Embedded() bool { return s.embedded != nil }

// Database exposes the database for the storage tests and the raw-driver benchmarks.
func (s *Store) Database() *mongo.Database { return s.db }

// Ping tells whether the server answers; an unreachable server is
// expertsurvey.ErrStoreUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	return Classify(s.client.Ping(ctx, readpref.Primary()))
}

// Close writes the checkpoints still due, disconnects and, for the embedded store, stops the
// server after its last write.
func (s *Store) Close(ctx context.Context) error {
	s.checkpoints.wait(ctx)
	err := s.client.Disconnect(ctx)
	s.closeEmbedded()
	return err
}

func (s *Store) closeEmbedded() {
	if s.embedded != nil {
		s.embedded.Close()
	}
}

// DropDatabase removes every collection; only tests call it.
func (s *Store) DropDatabase(ctx context.Context) error {
	return s.db.Drop(ctx)
}

// isDuplicateKey tells a lost race for a unique key from other failures.
func isDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// errNoDocument reports a missing document for a point read.
func isNotFound(err error) bool {
	return errors.Is(err, mongo.ErrNoDocuments)
}

// findAll runs a query and decodes every document it returns; what names the listing in errors.
func findAll[D any](ctx context.Context, col *mongo.Collection, filter any, what string, opts ...options.Lister[options.FindOptions]) ([]D, error) {
	cur, err := col.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return docs, nil
}

// writeProjection stores an entity's current state where readers start from. The log entry
// already made the change durable; a projection write that fails only means that readers
// replay that entry until the next write, so it is logged rather than failing the request that
// has already succeeded.
func (s *Store) writeProjection(ctx context.Context, collection, id string, doc any) {
	if _, err := s.db.Collection(collection).ReplaceOne(ctx, byID(id), doc, options.Replace().SetUpsert(true)); err != nil {
		s.logger.Warn("projection not written; readers replay the log", "collection", collection, "id", id, "err", err)
	}
}

// byID is the one filter shape the embedded store serves from an index.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }
