package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/expertsurvey/expertsurvey/api"
	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// A full disk under the embedded store: writes answer 507 store_full (not a 500), and work
// again once space is freed. The store's files live on a small tmpfs, which needs root (CI and
// the development machines run as root); elsewhere the test is skipped.
func TestDiskFullAnswers507AndRecovers(t *testing.T) {
	if mongodbtest.External() {
		t.Skip("needs the embedded store")
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Database: "full", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	env := apitest.NewOn(t, store)
	if err := env.App.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	admin, _ := env.As(auth.RoleAdmin)

	// Take every free byte.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break // ENOSPC
		}
	}
	_ = f.Close()

	create := func(i int) *apitest.Response {
		return admin.Do(apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{
			"email": fmt.Sprintf("full%d@example.org", i), "display_name": "Full", "password": "a long enough password"}})
	}
	// SQLite may still have room in pages it holds; write until the disk shows.
	var r *apitest.Response
	for i := range 200 {
		if r = create(i); r.Status != http.StatusCreated {
			break
		}
	}
	var p api.Problem
	r.Decode(t, &p)
	if r.Status != http.StatusInsufficientStorage || p.Type != "/problems/store_full" {
		t.Fatalf("a write on a full disk: %d %s", r.Status, r.Body)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := create(1000); r.Status != http.StatusCreated {
		t.Fatalf("a write after space was freed: %d %s", r.Status, r.Body)
	}
}
