package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/expertsurvey/expertsurvey/mongodb"
)

const backupUsage = `Usage:
  expertsurvey backup -o FILE [store flags]
  expertsurvey restore FILE [--force] [store flags]

backup writes every collection of the database to FILE, a gzip-compressed tar archive with a
manifest (format, schema version, and per collection its document count and SHA-256), while the
service keeps running: the event log is copied last, and every projection is checked against
the log when read, so the archive is consistent (docs/operations.md).

restore checks every checksum of FILE first, then loads it into an empty database and creates
the indexes; a database that holds any document is refused unless --force, which drops it first.
Stop the service (or point it elsewhere) before restoring over its data.

The store flags and their environment variables are those of serve (--mongodb-uri, --database,
--data-dir, --store-addr).
`

// openStore opens the store named by the store settings, quietly, and waits for it to answer.
func openStore(ctx context.Context, cfg *serveConfig, stderr io.Writer) (*mongodb.Store, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	store, err := mongodb.Open(ctx, mongodb.Config{
		URI: cfg.MongoURI, Database: cfg.Database, DataDir: cfg.DataDir, EmbeddedAddr: cfg.StoreAddr, Logger: logger,
		// A backup or restore is long; its operations are bounded by the command, not per call.
		OperationTimeout: time.Hour,
	})
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := store.Ping(pingCtx); err != nil {
		_ = store.Close(context.Background())
		return nil, fmt.Errorf("the store does not answer: %w", err)
	}
	return store, nil
}

func closeStore(store *mongodb.Store, err *error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cerr := store.Close(ctx); cerr != nil && *err == nil {
		*err = fmt.Errorf("close the store: %w", cerr)
	}
}

// backupCmd runs `expertsurvey backup -o FILE`.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage, "\nFlags:\n"); fs.PrintDefaults() }
	out := fs.String("o", "", "the archive to write (required)")
	applyStore := storeFlags(fs, cfg, getenv)
	rest, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return errUsage
	}
	if *out == "" || len(rest) > 0 {
		fs.Usage()
		return errUsage
	}
	if err := applyStore(); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)

	// Write beside the target and rename at the end, so that FILE is never a half archive.
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	start := time.Now()
	m, err := store.Backup(ctx, tmp, filepath.Dir(*out), time.Now())
	if err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	printManifest(stdout, m)
	fmt.Fprintf(stdout, "backup of %s written to %s in %s\n", m.Database, *out, time.Since(start).Round(time.Millisecond))
	return nil
}

// restoreCmd runs `expertsurvey restore FILE`.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg := &serveConfig{}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage, "\nFlags:\n"); fs.PrintDefaults() }
	force := fs.Bool("force", false, "drop a database that holds documents before restoring into it")
	applyStore := storeFlags(fs, cfg, getenv)
	files, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return errUsage
	}
	if len(files) != 1 {
		fs.Usage()
		return errUsage
	}
	if err := applyStore(); err != nil {
		return err
	}
	if _, err := os.Stat(files[0]); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	store, err := openStore(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	start := time.Now()
	m, err := store.Restore(ctx, func() (io.ReadCloser, error) { return os.Open(files[0]) }, *force)
	if err != nil {
		return err
	}
	if err := store.EnsureIndexes(ctx); err != nil {
		return fmt.Errorf("restore: indexes: %w", err)
	}
	printManifest(stdout, m)
	fmt.Fprintf(stdout, "restored %s (backed up %s) into %s in %s\n", files[0], m.CreatedAt.Format(time.RFC3339),
		cfg.Database, time.Since(start).Round(time.Millisecond))
	return nil
}

func printManifest(w io.Writer, m *mongodb.Manifest) {
	for _, c := range m.Collections {
		fmt.Fprintf(w, "%-24s %8d documents %12d bytes  sha256 %s\n", c.Name, c.Documents, c.Bytes, c.SHA256[:16])
	}
}
