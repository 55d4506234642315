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

// EmbeddedSocket, as the embedded store's address, listens on a Unix socket in a directory of
// the data directory that only this process's user can enter. The store has no authentication
// of its own, so a TCP port, even on loopback, lets any local process read password hashes and
// rewrite answers; the socket is reachable only by the service's user (and root).
const EmbeddedSocket = "socket"

// maxSocketPath is the longest Unix socket path Linux and macOS accept (sun_path, less the NUL).
const maxSocketPath = 103

// StartEmbedded starts FerretDB with its files under dir (created when missing) listening on
// addr: EmbeddedSocket for a private Unix socket, host:port for TCP, a free loopback port when
// empty. FerretDB binds in New, so a busy address is an error here rather than a hang.
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
	listener := ferretdb.ListenerConfig{TCP: addr}
	switch addr {
	case "":
		listener.TCP = "127.0.0.1:0"
	case EmbeddedSocket:
		if listener, err = privateSocket(abs); err != nil {
			return nil, err
		}
	default:
		if err := checkFree(addr); err != nil {
			return nil, err
		}
	}
	// FerretDB logs every connection at info level and warns about commands it lacks that the driver
	// sends anyway (endSessions); only its errors matter to an operator.
	quiet := slog.New(logger.Handler().WithGroup("ferretdb"))
	quiet = slog.New(levelFloor{quiet.Handler(), slog.LevelError})
	// The SQLite handler wants a file: URL of a directory ending in "/" (mode=memory hangs on
	// updates; docs/data-model.md, "How writes work").
	sqliteURL := (&url.URL{Scheme: "file", Path: abs + "/"}).String()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
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

// privateSocket prepares the socket of EmbeddedSocket: in dir/.store, a directory of mode 0700
// made before the socket is bound, so that there is no moment at which another user could
// connect. A socket file left by a killed process is removed; a live one is refused.
func privateSocket(dir string) (ferretdb.ListenerConfig, error) {
	sockDir := filepath.Join(dir, ".store")
	path := filepath.Join(sockDir, "store.sock")
	if len(path) > maxSocketPath {
		return ferretdb.ListenerConfig{}, fmt.Errorf("embedded store: the socket path %s is longer than %d bytes; use a shorter data directory, or a TCP address", path, maxSocketPath)
	}
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return ferretdb.ListenerConfig{}, fmt.Errorf("embedded store: socket directory: %w", err)
	}
	if err := os.Chmod(sockDir, 0o700); err != nil {
		return ferretdb.ListenerConfig{}, fmt.Errorf("embedded store: socket directory: %w", err)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return ferretdb.ListenerConfig{}, fmt.Errorf("embedded store: %s is in use by another process on the same data directory", path)
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return ferretdb.ListenerConfig{}, fmt.Errorf("embedded store: stale socket: %w", err)
	}
	return ferretdb.ListenerConfig{Unix: path}, nil
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
