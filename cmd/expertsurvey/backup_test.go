package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/round"
)

// fillStore writes every kind of data the service keeps into the embedded store under dir:
// users with assignments, a published questionnaire, an open round, answers with history,
// sessions (tokens), a failed sign-in, and the audit events of all of it.
func fillStore(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "k:" + auth.GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{UserID: "u_backup_test", Admin: true}
	for i, option := range []string{"equal", "labour_test"} { // two saves: a history
		cur, err := a.Rounds.Answer(ctx, admin, app.DemoRound, "AT", "LMM_1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Rounds.SaveAnswer(ctx, admin, app.DemoRound, "AT", "LMM_1", round.AnswerInput{
			Option: option, Comment: "Save " + string(rune('1'+i)), Sources: []round.Source{{Kind: "law", Title: "Act"}},
		}, &cur.Version); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Auth.Login(ctx, app.DemoUsers[0].Email, app.DemoPassword, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Auth.Login(ctx, app.DemoUsers[0].Email, "not the password", "127.0.0.1"); err == nil {
		t.Fatal("a wrong password signed in")
	}
}

// dumpStore reads every non-empty collection of the embedded store under dir, in _id order.
func dumpStore(t *testing.T, dir string) map[string][]bson.Raw {
	t.Helper()
	ctx := context.Background()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	db := store.Database()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]bson.Raw{}
	for _, n := range names {
		cur, err := db.Collection(n).Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			out[n] = append(out[n], slices.Clone(cur.Current))
		}
		if err := cur.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut strings.Builder
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src, dst, archive := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "es.tar.gz")
	fillStore(t, src)
	want := dumpStore(t, src)
	for _, col := range []string{"users", "questionnaire_versions", "rounds", "events", "tokens", "login_failures"} {
		if len(want[col]) == 0 {
			t.Fatalf("the source store has no %s: the test would prove little", col)
		}
	}

	if out, err := runCmd(t, "backup", "-o", archive, "--data-dir", src); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	out, err := runCmd(t, "restore", archive, "--data-dir", dst)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	got := dumpStore(t, dst)
	for col, docs := range want {
		if len(got[col]) != len(docs) {
			t.Errorf("%s: %d documents restored, %d backed up", col, len(got[col]), len(docs))
			continue
		}
		for i := range docs {
			if !bytes.Equal(got[col][i], docs[i]) {
				t.Errorf("%s: document %d differs:\nbacked up %s\nrestored  %s", col, i, docs[i], got[col][i])
				break
			}
		}
	}
	for col, docs := range got {
		if len(want[col]) == 0 && len(docs) > 0 {
			t.Errorf("%s: restored %d documents that were not backed up", col, len(docs))
		}
	}

	// A second restore finds the data there and refuses, unless told.
	if out, err := runCmd(t, "restore", archive, "--data-dir", dst); !errors.Is(err, mongodb.ErrNotEmpty) {
		t.Fatalf("restore into a non-empty store: %v\n%s", err, out)
	}
	if out, err := runCmd(t, "restore", archive, "--data-dir", dst, "--force"); err != nil {
		t.Fatalf("restore --force: %v\n%s", err, out)
	}
	if again := dumpStore(t, dst); len(again["events"]) != len(want["events"]) {
		t.Fatalf("after restore --force: %d events, want %d", len(again["events"]), len(want["events"]))
	}
}

// A damaged archive is refused before anything is written.
func TestRestoreRefusesADamagedArchive(t *testing.T) {
	src, dst, archive := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "es.tar.gz")
	fillStore(t, src)
	if out, err := runCmd(t, "backup", "-o", archive, "--data-dir", src); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	// Change one letter of a document, leaving gzip, tar and BSON well formed: only the
	// manifest's checksum can tell.
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(plain, []byte("Demo Coordinator"))
	if i < 0 {
		t.Fatal("no user in the archive")
	}
	plain[i] = 'X'
	var damaged bytes.Buffer
	zw := gzip.NewWriter(&damaged)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	if err := os.WriteFile(archive, damaged.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "restore", archive, "--data-dir", dst)
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a damaged archive: %v\n%s", err, out)
	}
	if got := dumpStore(t, dst); len(got) != 0 {
		t.Fatalf("a refused restore wrote %d collections", len(got))
	}
}
