package mongodb

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// A backup is a gzip-compressed tar archive:
//
//	manifest.json              format, schema version, time, and per collection: documents,
//	                           bytes and the SHA-256 of its file
//	collections/<name>.bson    the collection's documents, each as its BSON bytes, one after
//	                           the other (the layout of mongodump's .bson files, so that
//	                           bsondump and mongorestore can read them too)
//
// The manifest comes first, so a restore checks every checksum before it writes anything.
const (
	backupFormat   = "expertsurvey-backup/1"
	manifestName   = "manifest.json"
	collectionsDir = "collections/"
	// restoreBatch bounds one insertMany of a restore; the driver splits larger messages anyway.
	restoreBatch = 1000
)

// Manifest describes a backup.
type Manifest struct {
	Format        string               `json:"format"`
	SchemaVersion int                  `json:"schema_version"`
	Database      string               `json:"database"`
	CreatedAt     time.Time            `json:"created_at"`
	Collections   []CollectionManifest `json:"collections"`
}

// CollectionManifest is one collection of a backup.
type CollectionManifest struct {
	Name      string `json:"name"`
	Documents int64  `json:"documents"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
}

// ErrNotEmpty refuses a restore into a database that holds documents.
var ErrNotEmpty = errors.New("the target database is not empty")

// logLast are collections copied after all others: the event log. Entries are immutable and
// only ever appended, and every projection (sheets, rounds, users) is checked against the log
// when read and rebuilt from it; copying the log last makes it at least as new as every
// projection in the archive, so the archive is consistent while the service keeps writing
// (writes after a collection was copied are simply not in the backup).
var logLast = []string{colEvents}

// Backup writes every collection of the database to w as a compressed archive and returns its
// manifest. Each collection is first spooled to a temporary file (under tmpDir, the system's
// when empty) to learn its size and checksum, so memory stays flat whatever the data's size.
func (s *Store) Backup(ctx context.Context, w io.Writer, tmpDir string, now time.Time) (*Manifest, error) {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", Classify(err))
	}
	names = slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, "system.") })
	slices.SortFunc(names, func(a, b string) int {
		// The log last (see logLast), the others by name.
		la, lb := slices.Contains(logLast, a), slices.Contains(logLast, b)
		if la != lb {
			if la {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	m := &Manifest{Format: backupFormat, SchemaVersion: SchemaVersion, Database: s.db.Name(), CreatedAt: now.UTC()}
	spools := make([]*os.File, 0, len(names))
	defer func() {
		for _, f := range spools {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	for _, name := range names {
		f, err := os.CreateTemp(tmpDir, "expertsurvey-backup-*.bson")
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		spools = append(spools, f)
		cm, err := s.spool(ctx, name, f)
		if err != nil {
			return nil, err
		}
		m.Collections = append(m.Collections, cm)
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeTarFile(tw, manifestName, int64(len(manifest)), m.CreatedAt, bytes.NewReader(manifest)); err != nil {
		return nil, err
	}
	for i, cm := range m.Collections {
		if _, err := spools[i].Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if err := writeTarFile(tw, collectionsDir+cm.Name+".bson", cm.Bytes, m.CreatedAt, spools[i]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// spool copies one collection, in _id order, to f and hashes what it wrote.
func (s *Store) spool(ctx context.Context, name string, f *os.File) (CollectionManifest, error) {
	cm := CollectionManifest{Name: name}
	cur, err := s.db.Collection(name).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return cm, fmt.Errorf("back up %s: %w", name, Classify(err))
	}
	defer func() { _ = cur.Close(ctx) }()
	h := sha256.New()
	bw := bufio.NewWriter(io.MultiWriter(f, h))
	for cur.Next(ctx) {
		n, err := bw.Write(cur.Current)
		if err != nil {
			return cm, fmt.Errorf("back up %s: %w", name, err)
		}
		cm.Documents++
		cm.Bytes += int64(n)
	}
	if err := cur.Err(); err != nil {
		return cm, fmt.Errorf("back up %s: %w", name, Classify(err))
	}
	if err := bw.Flush(); err != nil {
		return cm, fmt.Errorf("back up %s: %w", name, err)
	}
	cm.SHA256 = hex.EncodeToString(h.Sum(nil))
	return cm, nil
}

func writeTarFile(tw *tar.Writer, name string, size int64, mod time.Time, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := io.Copy(tw, r); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// VerifyBackup reads a whole archive and checks it against its manifest: every collection
// listed, none unlisted, each with its document count and checksum, every document well formed.
func VerifyBackup(r io.Reader) (*Manifest, error) {
	var m *Manifest
	seen := map[string]bool{}
	err := readBackup(r, func(mf *Manifest) error { m = mf; return nil }, func(cm CollectionManifest, docs *docReader) error {
		seen[cm.Name] = true
		for {
			_, err := docs.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, cm := range m.Collections {
		if !seen[cm.Name] {
			return nil, fmt.Errorf("backup: collection %s is in the manifest but not in the archive", cm.Name)
		}
	}
	return m, nil
}

// readBackup walks an archive: the manifest first, then each collection's documents, checking
// counts and checksums as it goes (the check of a collection completes when its documents have
// been read to the end).
func readBackup(r io.Reader, onManifest func(*Manifest) error, onCollection func(CollectionManifest, *docReader) error) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("backup: not a gzip file: %w", err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestName {
		return fmt.Errorf("backup: the archive does not start with %s", manifestName)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(&m); err != nil {
		return fmt.Errorf("backup: %s: %w", manifestName, err)
	}
	if m.Format != backupFormat {
		return fmt.Errorf("backup: format %q, want %q", m.Format, backupFormat)
	}
	if m.SchemaVersion > SchemaVersion {
		return fmt.Errorf("backup: schema version %d is newer than this build's %d: restore it with a newer expertsurvey", m.SchemaVersion, SchemaVersion)
	}
	if err := onManifest(&m); err != nil {
		return err
	}
	byName := map[string]CollectionManifest{}
	for _, cm := range m.Collections {
		byName[cm.Name] = cm
	}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		name, ok := strings.CutPrefix(hdr.Name, collectionsDir)
		name, ok2 := strings.CutSuffix(name, ".bson")
		cm, listed := byName[name]
		if !ok || !ok2 || !listed {
			return fmt.Errorf("backup: %s is not in the manifest", hdr.Name)
		}
		h := sha256.New()
		docs := &docReader{r: bufio.NewReader(io.TeeReader(tr, h)), name: name}
		if err := onCollection(cm, docs); err != nil {
			return err
		}
		// Whatever the callback read, the whole entry must match the manifest.
		if _, err := io.Copy(io.Discard, docs.r); err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
		if docs.count != cm.Documents {
			return fmt.Errorf("backup: %s holds %d documents, the manifest says %d", name, docs.count, cm.Documents)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != cm.SHA256 {
			return fmt.Errorf("backup: %s: checksum %s, the manifest says %s: the file is damaged", name, sum, cm.SHA256)
		}
	}
}

// docReader reads concatenated BSON documents.
type docReader struct {
	r     *bufio.Reader
	name  string
	count int64
}

// maxDocument is MongoDB's document size limit; a larger length prefix means a damaged file.
const maxDocument = 16 << 20

func (d *docReader) next() (bson.Raw, error) {
	var size [4]byte
	if _, err := io.ReadFull(d.r, size[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("backup: %s: document %d: %w", d.name, d.count+1, err)
	}
	n := int(binary.LittleEndian.Uint32(size[:]))
	if n < 5 || n > maxDocument {
		return nil, fmt.Errorf("backup: %s: document %d: impossible length %d: the file is damaged", d.name, d.count+1, n)
	}
	doc := make([]byte, n)
	copy(doc, size[:])
	if _, err := io.ReadFull(d.r, doc[4:]); err != nil {
		return nil, fmt.Errorf("backup: %s: document %d: %w", d.name, d.count+1, err)
	}
	if err := bson.Raw(doc).Validate(); err != nil {
		return nil, fmt.Errorf("backup: %s: document %d: %w", d.name, d.count+1, err)
	}
	d.count++
	return doc, nil
}

// Restore loads a backup into this store's database. It reads the archive twice: first to
// verify every checksum (nothing is written from a damaged file), then to insert. The database
// must hold no document unless force is set, in which case it is dropped first. Indexes are not
// in the archive: call EnsureIndexes afterwards, as every start-up does.
func (s *Store) Restore(ctx context.Context, open func() (io.ReadCloser, error), force bool) (*Manifest, error) {
	f, err := open()
	if err != nil {
		return nil, err
	}
	m, err := VerifyBackup(f)
	_ = f.Close()
	if err != nil {
		return nil, err
	}
	nonEmpty, err := s.nonEmptyCollections(ctx)
	if err != nil {
		return nil, err
	}
	if len(nonEmpty) > 0 {
		if !force {
			return nil, fmt.Errorf("%w: %s hold documents (restore with --force to replace them)", ErrNotEmpty, strings.Join(nonEmpty, ", "))
		}
		if err := s.db.Drop(ctx); err != nil {
			return nil, fmt.Errorf("restore: drop the database: %w", Classify(err))
		}
	}
	if f, err = open(); err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	err = readBackup(f, func(*Manifest) error { return nil }, func(cm CollectionManifest, docs *docReader) error {
		col := s.db.Collection(cm.Name)
		batch := make([]any, 0, restoreBatch)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if _, err := col.InsertMany(ctx, batch); err != nil {
				return fmt.Errorf("restore %s: %w", cm.Name, Classify(err))
			}
			batch = batch[:0]
			return nil
		}
		for {
			doc, err := docs.next()
			if errors.Is(err, io.EOF) {
				return flush()
			}
			if err != nil {
				return err
			}
			if batch = append(batch, doc); len(batch) == restoreBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// nonEmptyCollections names the collections that hold at least one document.
func (s *Store) nonEmptyCollections(ctx context.Context) ([]string, error) {
	names, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("list collections: %w", Classify(err))
	}
	slices.Sort(names)
	var out []string
	for _, n := range names {
		err := s.db.Collection(n).FindOne(ctx, bson.D{}).Err()
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", n, Classify(err))
		}
		out = append(out, n)
	}
	return out, nil
}
