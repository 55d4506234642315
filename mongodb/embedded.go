package mongodb

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Embedded is a FerretDB server (SQLite handler) running inside this process on loopback.
type Embedded struct {
	db     *ferretdb.FerretDB
	uri    string
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// StartEmbedded starts FerretDB with its files under dir (created when missing) listening on
// addr, or on a free loopback port when addr is empty. FerretDB binds the port in New, so a
// busy address is an error here rather than a hang.
func StartEmbedded(ctx context.Context, dir, addr string, logger *slog.Logger) (*Embedded, error) {
	if dir == "" {
		return nil, fmt.Errorf("embedded store: a data directory is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: data directory: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("embedded store: data directory: %w", err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkFree(addr); err != nil {
		return nil, err
	}
	// FerretDB logs every connection at info level and warns about commands it lacks that the driver
	// sends anyway (endSessions); only its errors matter to an operator.
	quiet := slog.New(logger.Handler().WithGroup("ferretdb"))
	quiet = slog.New(levelFloor{quiet.Handler(), slog.LevelError})
	// The SQLite handler wants a file: URL of a directory ending in "/" (mode=memory hangs on
	// updates; docs/data-model.md, "How writes work").
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/"}).String()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Logger:    quiet,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{db: f, cancel: cancel, done: make(chan struct{}), dir: abs}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	e.uri = f.MongoDBURI()
	return e, nil
}

// checkFree refuses a busy fixed address before FerretDB tries it: ferretdb.New does not close
// its storage backend when its listener fails, and the leaked backend later panics the process
// from a finalizer.
func checkFree(addr string) error {
	if strings.HasSuffix(addr, ":0") {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("embedded store address %s: %w", addr, err)
	}
	return l.Close()
}

// URI is the mongodb:// address of the embedded server.
func (e *Embedded) URI() string { return e.uri }

// Close stops the server and waits until its files are closed.
func (e *Embedded) Close() {
	e.once.Do(func() {
		e.cancel()
		<-e.done
	})
}

// redactURI hides credentials in a connection string before it is logged.
func redactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.User == nil {
		if i := strings.Index(uri, "@"); i >= 0 {
			return "mongodb://***" + uri[i:]
		}
		return uri
	}
	u.User = url.User("***")
	return u.String()
}

// levelFloor drops records below min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.min}
}
