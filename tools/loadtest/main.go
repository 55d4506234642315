// Command loadtest measures answer saving and sheet loading through the HTTP API against the
// raw driver on the same embedded store, in one run, and the bulk import of 40,000 answers. It
// starts its own service on loopback with a fresh store in a temporary directory, sends traffic
// only there, and stops by itself. The figures go to docs/performance.md.
//
//	go run ./tools/loadtest [-duration 10s] [-clients 16,100] [-indicators 170] [-countries 128] [-import=true] [-review=true]
//
// With -review it also measures review actions (a reviewer's verdict on an answer version, the
// write of the review workflow) beside the saves, a bulk approval of a whole sheet, and a
// reviewer's work queue (/v1/me/tasks) over 10 sheets.
//
// Besides throughput and latency it reports, per operation, the bytes the process allocated
// (client and service together, both run here) and the store round trips.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
	"github.com/expertsurvey/expertsurvey/mongodb"
)

// indicators is the size of every sheet; countries how many sheets the round has.
var indicators, countryCount = 170, 128

// phases are the per-client phases to run; nil runs them all.
var phases map[string]bool

func runs(phase string) bool { return phases == nil || phases[phase] }

// withReview adds the review phases.
var withReview bool

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each measured phase runs")
	clientList := flag.String("clients", "16,100", "concurrent clients, comma-separated")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the whole run to this file")
	flag.IntVar(&indicators, "indicators", indicators, "indicators per sheet")
	flag.IntVar(&countryCount, "countries", countryCount, "countries (sheets) in the round; at least the largest client count")
	withImport := flag.Bool("import", true, "also measure the bulk import of 40,000 answers")
	flag.BoolVar(&withReview, "review", true, "also measure review actions, bulk approval and the work queue")
	flag.Func("phases", "the per-client phases to run, comma-separated (default raw,save,read,load)", func(v string) error {
		phases = map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); !slices.Contains([]string{"raw", "save", "read", "load"}, p) {
				return fmt.Errorf("unknown phase %q", p)
			}
			phases[p] = true
		}
		return nil
	})
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if *memProfile != "" {
		memProfileBase = *memProfile + ".base"
		defer writeAllocs(*memProfile)
	}
	if err := run(*duration, *clientList, *withImport); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// memProfileBase, when set, receives the allocation profile after set-up, so that
// `go tool pprof -base` shows the measured phases alone.
var memProfileBase string

func writeAllocs(file string) {
	if f, err := os.Create(file); err == nil {
		pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}

// commands counts store round trips, to express a save in round trips.
var commands atomic.Int64

// theStore is the embedded store under test, whose counters give each phase's bytes written.
var theStore *mongodb.Store

func run(duration time.Duration, clientList string, withImport bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "expertsurvey-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		OnCommand: func(string, time.Duration, bool) { commands.Add(1) }})
	if err != nil {
		return err
	}
	defer store.Close(ctx)
	theStore = store
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := store.EnsureIndexes(ctx); err != nil {
		return err
	}
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: "load:" + auth.GenerateKey()})
	if err != nil {
		return err
	}
	a.Server.MarkReady()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Server}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	fmt.Printf("# expertsurvey load test\n\n%s, %d CPUs (GOMAXPROCS %d), embedded store (FerretDB 1.24, SQLite), %s per phase, sheets of %d indicators, %d countries\n\n",
		time.Now().UTC().Format(time.DateOnly), runtime.NumCPU(), runtime.GOMAXPROCS(0), duration, indicators, countryCount)

	token, err := setUp(ctx, a)
	if err != nil {
		return err
	}
	var counts []int
	for _, c := range strings.Split(clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q", c)
		}
		counts = append(counts, n)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var rv *reviewSetup
	if withReview {
		if rv, err = setUpReview(ctx, a, slices.Max(counts)); err != nil {
			return err
		}
		tasks := measure(1, duration, func(int, int) error { return get(client, base+"/v1/me/tasks", rv.tasksToken, http.StatusOK) })
		fmt.Println(header)
		fmt.Println(headerRule)
		fmt.Println(tasks.row("API work queue of a reviewer of 10 sheets (GET /v1/me/tasks)", 1))
		bulk := rv.bulkApprovals(client, base)
		fmt.Println(bulk.row(fmt.Sprintf("API bulk approval of a whole sheet (%d answers)", indicators), 1))
		fmt.Println()
	}

	if memProfileBase != "" {
		writeAllocs(memProfileBase)
	}
	fmt.Println(header)
	fmt.Println(headerRule)
	for _, n := range counts {
		if n > countryCount {
			return fmt.Errorf("%d clients need at least as many countries (-countries)", n)
		}
		var raw, saves *result
		if runs("raw") {
			raw = rawInserts(ctx, store, n, duration)
			fmt.Println(raw.row("raw driver insert (one write)", n))
		}
		if runs("save") {
			saves = apiSaves(client, base, token, n, duration)
			fmt.Println(saves.row("API answer save (PUT with If-Match)", n))
		}
		if runs("read") {
			reads := apiReads(client, base, token, n, duration)
			fmt.Println(reads.row("API read one answer", n))
		}
		if runs("load") {
			loads := apiLoads(client, base, token, n, duration)
			fmt.Println(loads.row(fmt.Sprintf("API sheet load (%d answers with sources)", indicators), n))
		}
		if raw != nil && saves != nil {
			fmt.Printf("| saves/s x round trips per save vs raw writes/s | %d | %.0f%% | | | | | | |\n", n,
				100*saves.rate()*saves.tripsPerOp()/raw.rate())
		}
		if rv != nil && saves != nil {
			verdicts := rv.verdicts(client, base, n, duration)
			fmt.Println(verdicts.row("API review action (verdict with If-Match)", n))
			fmt.Printf("| review actions/s vs saves/s | %d | %.0f%% | | | | | | |\n", n, 100*verdicts.rate()/saves.rate())
		}
	}
	if !withImport {
		return nil
	}
	took, n, err := bulkImport(ctx, client, base, token)
	if err != nil {
		return err
	}
	fmt.Printf("\nBulk import of %d answers (CSV over HTTP, validated then written): %.1f s\n", n, took.Seconds())
	return nil
}

// countries are the synthetic sheets the clients write to, one per client at most.
func countries(n int) []string { return loadkit.Countries(n) }

// setUp publishes the instrument, opens a round whose sheets are full (every indicator
// answered, with two sources each), and returns a coordinator's access token.
func setUp(ctx context.Context, a *app.App) (string, error) {
	if err := loadkit.PublishInstrument(ctx, a, indicators); err != nil {
		return "", err
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "load", Countries: countries(countryCount), Indicators: indicators, Sources: 2}); err != nil {
		return "", err
	}
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "load")
	admin := loadkit.Admin
	u, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: "coord@load.test", DisplayName: "Load", Password: "load test password 1"})
	if err != nil {
		return "", err
	}
	if _, err := a.Auth.Grant(ctx, admin, u.ID, auth.Assignment{Role: auth.RoleCoordinator, Round: auth.AllRounds}, 0); err != nil {
		return "", err
	}
	sess, err := a.Auth.Login(ctx, "coord@load.test", "load test password 1", "127.0.0.1")
	return sess.AccessToken, err
}

const (
	header     = "| phase | clients | ops/s | p50 | p99 | store round trips per op | allocated per op | store bytes written per op | checkpoints per op |"
	headerRule = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)

// result is one phase's latencies, store command count and allocated bytes.
type result struct {
	lat       []time.Duration
	took      time.Duration
	commands  int64
	allocated uint64
	failed    int
	// written is what the service sent the store in log entries and checkpoints (encoded BSON),
	// checkpoints how many sheet projections it rewrote.
	written, checkpoints int64
}

func (r *result) rate() float64 { return float64(len(r.lat)) / r.took.Seconds() }

func (r *result) tripsPerOp() float64 {
	if len(r.lat) == 0 {
		return 0
	}
	return float64(r.commands) / float64(len(r.lat))
}

func (r *result) pct(p float64) time.Duration { return loadkit.Percentile(r.lat, p) }

func (r *result) row(name string, clients int) string {
	fail := ""
	if r.failed > 0 {
		fail = fmt.Sprintf(" (%d failed)", r.failed)
	}
	perOp := uint64(0)
	if len(r.lat) > 0 {
		perOp = r.allocated / uint64(len(r.lat))
	}
	n := float64(max(1, len(r.lat)))
	return fmt.Sprintf("| %s%s | %d | %.0f | %.1f ms | %.1f ms | %.1f | %.1f kB | %.2f kB | %.3f |", name, fail, clients, r.rate(),
		float64(r.pct(0.50).Microseconds())/1000, float64(r.pct(0.99).Microseconds())/1000, r.tripsPerOp(), float64(perOp)/1000,
		float64(r.written)/n/1000, float64(r.checkpoints)/n)
}

// errDone, from an op, ends its worker's phase early: it has done all there was to do.
var errDone = errors.New("done")

// measure runs op on n goroutines for d and gathers latencies.
func measure(n int, d time.Duration, op func(worker, i int) error) *result {
	res := &result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	before := commands.Load()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	statsBefore := theStore.Stats()
	start := time.Now()
	deadline := start.Add(d)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			failed := 0
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := op(w, i); errors.Is(err, errDone) {
					break
				} else if err != nil {
					failed++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.failed += failed
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.took = time.Since(start)
	// The checkpoints a phase made due are written in the background; wait for them so that
	// their commands, allocations and bytes count where they were caused.
	theStore.WaitForCheckpoints(context.Background())
	res.commands = commands.Load() - before
	runtime.ReadMemStats(&ms)
	res.allocated = ms.TotalAlloc - allocBefore
	st := theStore.Stats()
	res.written = st.LogBytes - statsBefore.LogBytes + st.CheckpointBytes - statsBefore.CheckpointBytes
	res.checkpoints = st.Checkpoints - statsBefore.Checkpoints
	return res
}

func rawInserts(ctx context.Context, store *mongodb.Store, n int, d time.Duration) *result {
	col := store.Database().Collection(fmt.Sprintf("raw_%d", n))
	var id atomic.Int64
	return measure(n, d, func(int, int) error {
		_, err := col.InsertOne(ctx, bson.D{{Key: "_id", Value: id.Add(1)}, {Key: "comment", Value: "a small document"}})
		return err
	})
}

// etags keeps the ETag of every answer written, per country, across phases: worker w writes
// only country w, so that every request is a save and no lock is needed.
var etags = func() []map[string]string {
	m := make([]map[string]string, 1024)
	for i := range m {
		m[i] = map[string]string{}
	}
	return m
}()

// apiSaves: each client saves answers of its own country's sheet, keeping the ETags it was
// given, so that every request is a save.
func apiSaves(client *http.Client, base, token string, n int, d time.Duration) *result {
	cs := countries(countryCount)
	return measure(n, d, func(w, i int) error {
		country := cs[w%len(cs)]
		code := fmt.Sprintf("I%04d", (i*7+w)%indicators)
		etag, ok := etags[w][code]
		if !ok {
			etag = strconv.Quote(strconv.Itoa(1)) // every answer was imported once
		}
		body := fmt.Sprintf(`{"option":"%s","comment":"Saved by client %d, request %d.","sources":[{"kind":"law","title":"Act","url":"https://example.org/act"}]}`,
			[]string{"full", "partial", "none"}[i%3], w, i)
		req, _ := http.NewRequest(http.MethodPut, base+"/v1/rounds/load/countries/"+country+"/answers/"+code, strings.NewReader(body))
		if n > len(cs) {
			return fmt.Errorf("at most %d clients", len(cs))
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", etag)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		etags[w][code] = resp.Header.Get("ETag")
		return nil
	})
}

// apiReads: each client reads answers of its own country, one at a time.
func apiReads(client *http.Client, base, token string, n int, d time.Duration) *result {
	cs := countries(countryCount)
	return measure(n, d, func(w, i int) error {
		code := fmt.Sprintf("I%04d", (i*11+w)%indicators)
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/rounds/load/countries/"+cs[w]+"/answers/"+code, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

func apiLoads(client *http.Client, base, token string, n int, d time.Duration) *result {
	cs := countries(countryCount)
	return measure(n, d, func(w, i int) error {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/rounds/load/countries/"+cs[(w+i)%len(cs)], nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		// Count the answers without decoding them, as an HTTP load tool would not: the
		// client shares the machine with the service it measures.
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := bytes.Count(body, []byte(`"indicator":`)); err != nil || resp.StatusCode != http.StatusOK || n != indicators {
			return fmt.Errorf("status %d, %d answers, %v", resp.StatusCode, n, err)
		}
		return nil
	})
}

// bulkImport posts 236 countries x 170 indicators (40,120 answers) as CSV into a new round.
func bulkImport(ctx context.Context, client *http.Client, base, token string) (time.Duration, int, error) {
	cs := countries(236)
	create := fmt.Sprintf(`{"id":"bulk","name":"Bulk","questionnaire":"load","questionnaire_version":"1","countries":%s}`, mustJSON(cs))
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/rounds", strings.NewReader(create))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	var csv strings.Builder
	csv.WriteString("country,indicator,option,comment,source_kind,source_title,source_url\n")
	n := 0
	for _, c := range cs {
		for i := range indicators {
			fmt.Fprintf(&csv, "%s,I%04d,partial,Imported from the 2019 edition.,law,Act of 2018,https://example.org/2018\n", c, i)
			n++
		}
	}
	start := time.Now()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/rounds/bulk/answers/import", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err = client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("import: %d %s", resp.StatusCode, body)
	}
	return time.Since(start), n, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
