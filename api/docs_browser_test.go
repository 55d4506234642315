package api_test

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/expertsurvey/expertsurvey/api/apitest"
)

// chromium finds a Chromium to drive; .ci/run installs Debian's chromium package.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium installed (Debian: apt-get install chromium); the /docs browser test needs one")
	return ""
}

// TestDocsRenderInABrowser opens /docs in headless Chromium: Swagger UI, from the binary's own
// files, renders every operation of the contract, with its summary and its parameters' limits.
func TestDocsRenderInABrowser(t *testing.T) {
	exe := chromium(t)
	spec, _ := apitest.Spec(t)
	want := 0
	for _, item := range spec.Paths.Map() {
		want += len(item.Operations())
	}
	env := apitest.New(t)
	srv := httptest.NewServer(env.App.Server)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Flag("headless", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/docs"),
		chromedp.WaitVisible(chromedp.CSS(".opblock")),
	)
	if err != nil {
		t.Fatalf("render /docs: %v", err)
	}
	count, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.opblock').length`))
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".info .title")))
	if err != nil {
		t.Fatal(err)
	}
	// Open one operation: its description, parameters with their limits, and Try it out.
	op := "#operations-users-importUsers"
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(op+" .opblock-summary-control")),
		chromedp.WaitVisible(chromedp.CSS(op+" .try-out__btn")),
	)
	if err != nil {
		t.Fatalf("open an operation: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(op)))
	if err != nil {
		t.Fatal(err)
	}
	if count != want {
		t.Errorf("/docs shows %d operations, the contract has %d", count, want)
	}
	if !strings.Contains(title, "expertsurvey") {
		t.Errorf("title %q", title)
	}
	for _, s := range []string{"Import users and assignments from a roster", "dry_run", "Try it out", "invalid-roster"} {
		if !strings.Contains(text, s) {
			t.Errorf("the opened operation lacks %q:\n%.1500s", s, text)
		}
	}
}
