package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The bare binary prints the help on stderr and exits 2, rather than starting a server with
// every default.
func TestBareBinaryPrintsHelpAndExits2(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "EXPERTSURVEY_TEST_SERVE=-")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("bare binary: %v, want exit status 2\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "Usage:") || stdout.Len() != 0 {
		t.Fatalf("want the help on stderr only; stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// help names every command that run dispatches, including both kinds of import.
func TestHelpListsEveryCommand(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "user add|list", "import questionnaire", "import answers", "backup -o FILE", "restore FILE", "version", "help"} {
		if !strings.Contains(out.String(), "expertsurvey "+cmd) {
			t.Errorf("help lacks %q:\n%s", cmd, out.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "expertsurvey "+buildVersion()+" (go") {
		t.Fatalf("version printed %q", out.String())
	}
	// A release build names its version with -ldflags "-X main.version=...".
	saved := version
	t.Cleanup(func() { version = saved })
	version = "v9.8.7"
	out.Reset()
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "expertsurvey v9.8.7 ") {
		t.Fatalf("with -X main.version: %q", out.String())
	}
}
