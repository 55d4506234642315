package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guideBlock is a fenced code block of docs/guide.md: a shell step, with the output the guide
// shows after it when it shows one.
type guideBlock struct {
	line   int    // where the block starts in the guide, for failure messages
	script string // the commands
	want   string // the output block that follows it; empty when the guide shows none
	hasOut bool
}

// The guide's example addresses; the test gives each run free ports instead, so that it can
// run beside other tests.
const (
	guideAPIAddr   = "127.0.0.1:8080"
	guideStoreAddr = "127.0.0.1:27017"
)

// TestGuide runs docs/guide.md as a newcomer would: every `sh` block in order, in one
// terminal-like session (exported variables and the working directory carry from block to
// block), starting in the repository's root with an empty HOME. The first block builds the
// binary (with the flags of the release image, whose build CI runs first, so that its compiled
// packages are reused); the block that starts the service runs in the background until the end. Each block
// must exit 0, and where the guide shows a `text` block right after it, the block's output
// (stdout and stderr, as a terminal shows them) must match it, line by line; "..." in a shown
// line stands for any text, and a line of only "..." for any number of lines. Any other kind
// of fenced block is refused, so that the guide cannot show a command this test does not run.
func TestGuide(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the guide's test needs %s on PATH (.ci/run installs it): %v", tool, err)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "docs", "guide.md"))
	if err != nil {
		t.Fatal(err)
	}
	apiAddr, storeAddr := freeAddr(t), freeAddr(t)
	guide := strings.NewReplacer(guideAPIAddr, apiAddr, guideStoreAddr, storeAddr).Replace(string(text))
	blocks, err := parseGuide(guide)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 10 {
		t.Fatalf("docs/guide.md has %d shell blocks; the guide lost its steps", len(blocks))
	}

	sh := newGuideShell(t, root)
	var server *guideServer
	t.Cleanup(func() {
		if server != nil {
			server.stop(t)
		}
	})
	for i, b := range blocks {
		if strings.HasPrefix(strings.TrimSpace(b.script), "expertsurvey serve") {
			if server != nil {
				t.Fatalf("guide line %d: the service is started twice", b.line)
			}
			server = sh.background(t, b.script)
			server.waitReady(t, "http://"+apiAddr+"/readyz")
			continue
		}
		out, err := sh.run(t, b.script)
		if err != nil {
			log := ""
			if server != nil {
				log = tail(server.log.String(), 3000)
			}
			t.Fatalf("guide line %d (block %d) failed: %v\n--- commands\n%s\n--- output\n%s\n--- service log\n%s", b.line, i+1, err, b.script, out, log)
		}
		t.Logf("guide line %d:\n%s", b.line, out)
		if b.hasOut && !outputMatches(b.want, out) {
			t.Fatalf("guide line %d (block %d): the output differs from what the guide shows\n--- commands\n%s\n--- the guide shows\n%s\n--- the output is\n%s", b.line, i+1, b.script, b.want, out)
		}
	}
	if server == nil {
		t.Fatal("the guide never starts the service")
	}
	// Without an SMTP server, as the guide says, the service logged each invitation's link.
	for _, who := range []string{"cleo", "eva", "fabien", "rui"} {
		if !regexp.MustCompile(`invitation link not mailed.* email=` + who + `@institute\.example link=\S+token=`).MatchString(server.log.String()) {
			t.Errorf("the service did not log %s's invitation link", who)
		}
	}
}

// parseGuide returns the shell blocks of a guide with the output shown after each.
func parseGuide(guide string) ([]guideBlock, error) {
	var blocks []guideBlock
	var cur *strings.Builder
	var info string
	start := 0
	sc := bufio.NewScanner(strings.NewReader(guide))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.HasPrefix(line, "```")
		switch {
		case cur == nil && fence:
			info = strings.TrimSpace(strings.TrimPrefix(line, "```"))
			cur, start = &strings.Builder{}, n
		case cur != nil && fence:
			body := cur.String()
			switch info {
			case "sh":
				blocks = append(blocks, guideBlock{line: start, script: body})
			case "text":
				if len(blocks) == 0 || blocks[len(blocks)-1].hasOut {
					return nil, fmt.Errorf("guide line %d: an output block must follow a shell block", start)
				}
				blocks[len(blocks)-1].want, blocks[len(blocks)-1].hasOut = body, true
			default:
				return nil, fmt.Errorf("guide line %d: block of kind %q: the guide holds only sh blocks (run by this test) and their text output", start, info)
			}
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("guide line %d: unterminated code block", start)
	}
	return blocks, sc.Err()
}

// outputMatches compares an output with the text the guide shows, ignoring trailing spaces
// and blank lines at either end.
func outputMatches(want, got string) bool {
	var pattern strings.Builder
	pattern.WriteString(`\A`)
	for _, line := range strings.Split(strings.Trim(want, "\n"), "\n") {
		if line = strings.TrimRight(line, " "); line == "..." {
			pattern.WriteString(`(?:[^\n]*\n)*?`)
			continue
		}
		pattern.WriteString(strings.ReplaceAll(regexp.QuoteMeta(line), `\.\.\.`, `[^\n]*`) + `\n`)
	}
	pattern.WriteString(`\z`)
	var norm strings.Builder
	for _, line := range strings.Split(strings.Trim(got, "\n"), "\n") {
		norm.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return regexp.MustCompile(pattern.String()).MatchString(norm.String())
}

// guideShell keeps what a terminal keeps between commands: the exported variables and the
// working directory, in two files that each block reads first and writes last.
type guideShell struct {
	env, pwd string
}

func newGuideShell(t *testing.T, root string) *guideShell {
	t.Helper()
	state := t.TempDir()
	home := t.TempDir()
	sh := &guideShell{env: filepath.Join(state, "env"), pwd: filepath.Join(state, "pwd")}
	// The reader's environment: their PATH and Go settings (so that the build uses the same
	// caches and module proxy as this test, whatever HOME held them), an empty HOME, and none
	// of the service's settings.
	goEnv, err := exec.Command("go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOSUMDB",
		"GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE", "GOFLAGS", "GOTOOLCHAIN").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vars := map[string]string{}
	if err := json.Unmarshal(goEnv, &vars); err != nil {
		t.Fatalf("go env: %v", err)
	}
	vars["PATH"], vars["HOME"], vars["LANG"] = os.Getenv("PATH"), home, "C.UTF-8"
	var env strings.Builder
	for k, v := range vars {
		if v != "" {
			fmt.Fprintf(&env, "export %s=%q\n", k, v)
		}
	}
	if err := os.WriteFile(sh.env, []byte(env.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sh.pwd, []byte(root), 0o600); err != nil {
		t.Fatal(err)
	}
	return sh
}

// prelude restores the session: every assignment of a block is exported (set -a), as a
// reader's variables stay set in their terminal.
func (sh *guideShell) prelude() string {
	return fmt.Sprintf("set -euo pipefail\nset -a\nsource %q\ncd \"$(cat %q)\"\n", sh.env, sh.pwd)
}

// run runs one block and saves the session's state after it.
func (sh *guideShell) run(t *testing.T, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	full := sh.prelude() + script + fmt.Sprintf("\nset +a\npwd > %q\nexport -p > %q\n", sh.pwd, sh.env)
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", full)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// guideServer is the service the guide starts, running until the test ends.
type guideServer struct {
	cmd  *exec.Cmd
	done chan error // receives the service's exit
	log  *lockedBuffer
}

// background starts the service's block, replacing the shell with the service so that a
// signal reaches it.
func (sh *guideShell) background(t *testing.T, script string) *guideServer {
	t.Helper()
	s := &guideServer{done: make(chan error, 1), log: &lockedBuffer{}}
	s.cmd = exec.Command("bash", "--noprofile", "--norc", "-c", sh.prelude()+"exec "+strings.TrimSpace(script))
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	return s
}

func (s *guideServer) waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("the service exited before it was ready (%v):\n%s", err, s.log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service was not ready in time:\n%s", s.log)
		}
	}
}

func (s *guideServer) stop(t *testing.T) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the service did not stop cleanly: %v\n%s", err, tail(s.log.String(), 3000))
		}
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("the service did not stop within a minute of SIGTERM")
	}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// The checker of the guide's outputs must be able to fail: wildcards stand for text within a
// line or for whole lines, and nothing else differs.
func TestGuideOutputMatching(t *testing.T) {
	for _, c := range []struct {
		want, got string
		ok        bool
	}{
		{"ready\n", "ready\n", true},
		{"ready\n", "ready  \n\n", true},
		{"ready\n", "not ready\n", false},
		{"ready\n", "ready\nand more\n", false},
		{"AT revision 1 hash ...\n", "AT revision 1 hash 68db\n", true},
		{"AT revision 1 hash ...\n", "AT revision 2 hash 68db\n", false},
		{"...\nVOTE_1 some\n...\n{}\n", "VOTE_2 5\nVOTE_1 some\nASSOC_1 yes\n{}\n", true},
		{"...\nVOTE_1 some\n...\n{}\n", "VOTE_1 all\n{}\n", false},
		{"a.b\n", "axb\n", false},
	} {
		if got := outputMatches(c.want, c.got); got != c.ok {
			t.Errorf("outputMatches(%q, %q) = %v", c.want, c.got, got)
		}
	}
	if _, err := parseGuide("```http\nGET /v1/me\n```\n"); err == nil {
		t.Error("a block the test cannot run was accepted")
	}
	if _, err := parseGuide("```text\nready\n```\n"); err == nil {
		t.Error("an output without its command was accepted")
	}
}
