package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// service is the running binary: its address, its process and its log.
type service struct {
	base string
	cmd  *exec.Cmd
	log  *os.File
	// exited is closed when the process has ended; err is its Wait error then.
	exited chan struct{}
	err    error
}

// buildBinary builds the service into dir as a release is built (no race detector), so that the
// figures are the binary's own.
func buildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "expertsurvey")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/expertsurvey/expertsurvey/cmd/expertsurvey")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// seedRounds writes the two rounds into the store under dataDir before the service starts:
// "collect" open for the experts, "review" with every sheet submitted for the reviewers; and an
// admin, who creates the users through the API once the service runs.
func seedRounds(ctx context.Context, dataDir string, cfg Config, reviewersPerAnswer int) error {
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer store.Close(context.Background())
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := store.EnsureIndexes(ctx); err != nil {
		return err
	}
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: jwtKeys})
	if err != nil {
		return err
	}
	if err := loadkit.PublishInstrument(ctx, a, cfg.Indicators); err != nil {
		return err
	}
	countries := loadkit.Countries(cfg.Countries)
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: collectRound, Countries: countries, Indicators: cfg.Indicators, Sources: 2}); err != nil {
		return err
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: reviewRound, Countries: countries, Indicators: cfg.Indicators, Sources: 1,
		ReviewersPerAnswer: reviewersPerAnswer, Submit: true}); err != nil {
		return err
	}
	_, _, err = a.Auth.BootstrapUser(ctx, auth.NewUser{Email: adminEmail, DisplayName: "Load admin", GlobalRole: auth.RoleAdmin, Password: password})
	return err
}

var listeningRe = regexp.MustCompile(`msg=listening addr=(http://\S+)`)

// start runs the binary on dataDir and waits until it is ready. Its log (one line per request,
// as in production) goes to a file in dir.
func start(ctx context.Context, bin, dir, dataDir string, extra []string) (*service, error) {
	logFile, err := os.Create(filepath.Join(dir, "service.log"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "text",
		"--jwt-keys", jwtKeys, "--access-ttl", "2h", "--webhook-workers", "0"}, extra...)
	cmd := exec.Command(bin, args...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &service{cmd: cmd, log: logFile, exited: make(chan struct{})}
	addr := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if m := listeningRe.FindSubmatch(line); m != nil {
				select {
				case addr <- string(m[1]):
				default:
				}
			}
			logFile.Write(append(line, '\n'))
		}
		io.Copy(logFile, pipe)
	}()
	go func() {
		copied.Wait()
		s.err = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.base = <-addr:
	case <-s.exited:
		return nil, fmt.Errorf("the service exited at start: %v\n%s", s.err, s.logTail())
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("the service did not start in 60 s\n%s", s.logTail())
	case <-ctx.Done():
		s.kill()
		return nil, ctx.Err()
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("the service was not ready in 60 s\n%s", s.logTail())
		}
	}
}

// stop ends the service as an orchestrator would (SIGTERM, then SIGKILL after 30 s).
func (s *service) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("the service did not stop within 30 s of SIGTERM")
	}
	s.log.Close()
	if s.err != nil {
		return fmt.Errorf("the service exited with %v\n%s", s.err, s.logTail())
	}
	return nil
}

func (s *service) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.log.Close()
}

// logTail is the end of the service's log, for an error message.
func (s *service) logTail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// rss is the service's resident set size in bytes, from /proc (0 when unavailable).
func (s *service) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// heapInUse is the Go heap the service holds (go_memstats_heap_inuse_bytes of its /metrics),
// to tell the heap from the rest of RSS (the embedded store's SQLite page caches, the runtime).
func (s *service) heapInUse() int64 {
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return 0
}

// rssSampler records the service's RSS every 100 ms: the peak, and a sample per second.
type rssSampler struct {
	mu      sync.Mutex
	peak    int64
	samples []int64
	stop    chan struct{}
	done    chan struct{}
}

func sampleRSS(s *service) *rssSampler {
	r := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			v := s.rss()
			r.mu.Lock()
			r.peak = max(r.peak, v)
			if i%10 == 0 {
				r.samples = append(r.samples, v)
			}
			r.mu.Unlock()
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

func (r *rssSampler) finish() (peak int64, perSecond []int64) {
	close(r.stop)
	<-r.done
	return r.peak, r.samples
}
