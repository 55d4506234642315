package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// crashReviewers is how many reviewers judge each answer of round review.
const crashReviewers = 3

const (
	crashKeys     = "crash:Y3Jhc2gtdGVzdC1rZXktdGhhdC1pcy1hdC1sZWFzdC0zMi1ieXRlcyE="
	crashPassword = "crash test password"
)

// crashSeed is the data the crash test writes to: round "collect" open for experts (one per
// country, two savers each), round "review" with every sheet submitted, crashReviewers
// reviewers per country and as many verdicts per answer.
type crashSeed struct {
	countries []string // of round collect
	// reviewCountries are round review's: more sheets than collect's, so that verdicts last
	// through every kill (each reviewer judges each answer once).
	reviewCountries []string
	indicators      int
	experts         map[string]string   // country -> access token
	reviewers       map[string][]string // country -> access tokens
	reviewerID      map[string]string   // token -> user id
}

func seedCrash(t *testing.T, dir string) *crashSeed {
	t.Helper()
	ctx := context.Background()
	store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = store.Close(context.Background()) }()
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: crashKeys})
	if err != nil {
		t.Fatal(err)
	}
	s := &crashSeed{countries: loadkit.Countries(2), reviewCountries: loadkit.Countries(4), indicators: 40, experts: map[string]string{}, reviewers: map[string][]string{}, reviewerID: map[string]string{}}
	if err := loadkit.PublishInstrument(ctx, a, s.indicators); err != nil {
		t.Fatal(err)
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "collect", Countries: s.countries, Indicators: s.indicators}); err != nil {
		t.Fatal(err)
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "review", Countries: s.reviewCountries, Indicators: s.indicators, ReviewersPerAnswer: crashReviewers, Submit: true}); err != nil {
		t.Fatal(err)
	}
	// One admin; the experts and reviewers are created through the API (provision), where their
	// passwords are hashed by the service rather than by this race-instrumented test.
	if _, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: "admin@crash.test", DisplayName: "Admin", GlobalRole: auth.RoleAdmin, Password: crashPassword}); err != nil {
		t.Fatal(err)
	}
	return s
}

// provision creates the experts and reviewers through the running service, as the admin, and
// signs them in (tokens live 15 minutes, longer than the test, and survive restarts: same keys).
func (s *crashSeed) provision(t *testing.T, base string) {
	t.Helper()
	signIn := func(email string) string {
		body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, crashPassword)
		status, b, _, err := crashRequest(http.MethodPost, base+"/v1/auth/login", "", "", body)
		var sess struct {
			AccessToken string `json:"access_token"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(b, &sess) != nil {
			t.Fatalf("login %s: %d %s %v", email, status, b, err)
		}
		return sess.AccessToken
	}
	admin := signIn("admin@crash.test")
	person := func(email, role, roundID, country string) (string, string) {
		status, b, h, err := crashRequest(http.MethodPost, base+"/v1/users", admin, "",
			fmt.Sprintf(`{"email":%q,"display_name":%q,"password":%q}`, email, email, crashPassword))
		var created struct{ User struct{ ID string } }
		if err != nil || status != http.StatusCreated || json.Unmarshal(b, &created) != nil {
			t.Fatalf("create %s: %d %s %v", email, status, b, err)
		}
		status, b, _, err = crashRequest(http.MethodPost, base+"/v1/users/"+created.User.ID+"/assignments", admin, h.Get("ETag"),
			fmt.Sprintf(`{"role":%q,"round":%q,"country":%q}`, role, roundID, country))
		if err != nil || status != http.StatusOK {
			t.Fatalf("grant %s: %d %s %v", email, status, b, err)
		}
		return signIn(email), created.User.ID
	}
	for _, c := range s.countries {
		s.experts[c], _ = person("expert-"+c+"@crash.test", "expert", "collect", c)
	}
	for _, c := range s.reviewCountries {
		for k := range crashReviewers {
			token, id := person(fmt.Sprintf("reviewer%d-%s@crash.test", k, c), "reviewer", "review", c)
			s.reviewers[c] = append(s.reviewers[c], token)
			s.reviewerID[token] = id
		}
	}
}

// killable is the service in a child process: the binary as released (no race detector), so
// that the kills land among as many writes as a real process takes.
type killable struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
}

var (
	builtOnce   sync.Once
	builtBinary string
	builtErr    error
)

// releaseBinary builds the service once per test run into a directory of its own.
func releaseBinary(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "expertsurvey-crash-")
		if err != nil {
			builtErr = err
			return
		}
		builtBinary = dir + "/expertsurvey"
		if out, err := exec.Command("go", "build", "-o", builtBinary, ".").CombinedOutput(); err != nil {
			builtErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if builtErr != nil {
		t.Fatal(builtErr)
	}
	t.Cleanup(func() { _ = os.RemoveAll(strings.TrimSuffix(builtBinary, "/expertsurvey")) })
	return builtBinary
}

func spawn(t *testing.T, dir string) *killable {
	t.Helper()
	k := &killable{logs: &lockedBuffer{}}
	// Unbounded writes: the kills should land among as many writes in flight as possible
	// (shedding has tests of its own).
	k.cmd = exec.Command(releaseBinary(t), "serve", "--addr", "127.0.0.1:0", "--log-format", "text", "--webhook-workers", "0", "--data-dir", dir,
		"--max-writes", "0", "--max-per-client", "0")
	k.cmd.Env = append(os.Environ(), "EXPERTSURVEY_JWT_KEYS="+crashKeys)
	k.cmd.Stdout, k.cmd.Stderr = k.logs, k.logs
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); k.base == ""; time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(k.logs.String()); m != nil {
			k.base = m[1]
		}
		if time.Now().After(deadline) {
			_ = k.cmd.Process.Kill()
			t.Fatalf("the service did not start:\n%s", k.logs)
		}
	}
	waitFor(t, k.base+"/readyz", http.StatusOK)
	return k
}

func (k *killable) kill() {
	_ = k.cmd.Process.Kill() // SIGKILL: no shutdown, no flush, nothing finishes
	_ = k.cmd.Wait()
}

// ackedSave and ackedVerdict are writes the service answered 2xx to.
type ackedSave struct {
	country, indicator, comment string
	version                     int
}

type ackedVerdict struct {
	country, indicator, reviewer string
	decision                     review.Decision
}

// crashClients are the writers: per country one expert saving (in turns on the sheet's
// indicators) and two reviewers giving verdicts. Their state outlives the kills.
type crashClients struct {
	seed     *crashSeed
	mu       sync.Mutex
	saves    []ackedSave
	verdicts []ackedVerdict
	etags    map[string]string // collect answers' last known versions, by country/indicator
	pending  map[string][]int  // review: indicators each reviewer token has still to judge
	attempts int
}

func newCrashClients(s *crashSeed) *crashClients {
	c := &crashClients{seed: s, etags: map[string]string{}, pending: map[string][]int{}}
	for _, tokens := range s.reviewers {
		for _, tok := range tokens {
			c.pending[tok] = rand.Perm(s.indicators)
		}
	}
	return c
}

func crashRequest(method, url, token, ifMatch, body string) (int, []byte, http.Header, error) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err // the answer was cut off: not acknowledged
	}
	return resp.StatusCode, b, resp.Header, nil
}

// run writes until the service dies (the first transport error of each writer).
func (c *crashClients) run(t *testing.T, base string) {
	var wg sync.WaitGroup
	for _, country := range c.seed.countries {
		for part := range 2 { // two savers per sheet, each on its half of the indicators
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					code := loadkit.Indicator(part + 2*rand.N(c.seed.indicators/2))
					key := country + "/" + code
					c.mu.Lock()
					etag, ok := c.etags[key]
					c.attempts++
					c.mu.Unlock()
					if !ok {
						etag = `"1"`
					}
					comment := fmt.Sprintf("%s saved by writer %d, request %d, at %s", key, part, n, time.Now().Format(time.RFC3339Nano))
					body := fmt.Sprintf(`{"option":"full","comment":%q,"sources":[{"kind":"law","title":"Act","url":"https://example.org/act"}]}`, comment)
					status, b, h, err := crashRequest(http.MethodPut, base+"/v1/rounds/collect/countries/"+country+"/answers/"+code, c.seed.experts[country], etag, body)
					if err != nil {
						return
					}
					c.mu.Lock()
					switch status {
					case http.StatusOK:
						v, _ := strconv.Atoi(strings.Trim(h.Get("ETag"), `"`))
						c.etags[key] = h.Get("ETag")
						c.saves = append(c.saves, ackedSave{country, code, comment, v})
					case http.StatusPreconditionFailed: // a save whose answer the kill cut off did land
						var p struct{ Current struct{ Version int } }
						_ = json.Unmarshal(b, &p)
						c.etags[key] = strconv.Quote(strconv.Itoa(p.Current.Version))
					default:
						t.Errorf("save %s: %d %s", key, status, b)
					}
					c.mu.Unlock()
				}
			}()
		}
	}
	for _, country := range c.seed.reviewCountries {
		for _, token := range c.seed.reviewers[country] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					c.mu.Lock()
					left := c.pending[token]
					c.attempts++
					c.mu.Unlock()
					if len(left) == 0 {
						return
					}
					code := loadkit.Indicator(left[0])
					decision, body := review.Approve, `{"decision":"approve"}`
					if n%5 == 4 {
						decision, body = review.RequestChanges, `{"decision":"request_changes","reason":"Cite the act in force on the reference date."}`
					}
					status, b, _, err := crashRequest(http.MethodPost, base+"/v1/rounds/review/countries/"+country+"/answers/"+code+"/verdicts", token, `"1"`, body)
					if err != nil {
						return // retried after the restart: it may have landed, then it is refused as a repeat
					}
					c.mu.Lock()
					c.pending[token] = left[1:]
					switch {
					case status == http.StatusOK:
						c.verdicts = append(c.verdicts, ackedVerdict{country, code, c.seed.reviewerID[token], decision})
					case status == http.StatusConflict || status == http.StatusPreconditionFailed:
						// Judged already (a verdict whose answer the kill cut off), or the other
						// reviewer's request for changes ended this version's review.
					default:
						t.Errorf("verdict %s/%s: %d %s", country, code, status, b)
					}
					c.mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
}

// SIGKILL under concurrent saves and review actions, several times at random moments, then a
// restart on the same files: every acknowledged write is there, each sheet's log is contiguous,
// its projection (checkpoint and tail) equals the replay of its whole log, and no verdict or
// answer version appears twice.
func TestSIGKILLUnderSavesAndReviewsLosesNothing(t *testing.T) {
	began := time.Now()
	releaseBinary(t)
	t.Logf("built in %s", time.Since(began).Round(time.Millisecond))
	dir := t.TempDir()
	seed := seedCrash(t, dir)
	t.Logf("seeded at %s", time.Since(began).Round(time.Millisecond))
	var clients *crashClients
	const kills = 3
	for i := range kills {
		k := spawn(t, dir)
		if clients == nil {
			seed.provision(t, k.base)
			clients = newCrashClients(seed)
		}
		done := make(chan struct{})
		go func() {
			clients.run(t, k.base)
			close(done)
		}()
		// A random moment after the writers have had time to reach their stride.
		time.Sleep(time.Duration(1500+rand.N(1500)) * time.Millisecond)
		k.kill()
		<-done
		clients.mu.Lock()
		t.Logf("kill %d at %s: %d saves and %d verdicts acknowledged so far", i+1, time.Since(began).Round(time.Millisecond), len(clients.saves), len(clients.verdicts))
		clients.mu.Unlock()
	}
	if len(clients.saves) == 0 || len(clients.verdicts) == 0 {
		t.Fatalf("nothing was acknowledged (%d saves, %d verdicts): the kills came too early to prove anything", len(clients.saves), len(clients.verdicts))
	}
	// One more start on the killed files: the service comes up, and serves every acknowledged
	// save in its answer's history.
	k := spawn(t, dir)
	foundSaves := checkAckedSaves(t, k.base, seed, clients)
	k.kill()
	t.Logf("restarted and read back at %s", time.Since(began).Round(time.Millisecond))
	foundVerdicts := checkCrashInvariants(t, dir, seed, clients)
	t.Logf("acknowledged vs found: saves %d/%d, verdicts %d/%d (%d requests sent, %d kills)",
		len(clients.saves), foundSaves, len(clients.verdicts), foundVerdicts, clients.attempts, kills)
	t.Logf("checked at %s", time.Since(began).Round(time.Millisecond))
}

// sheetProjection is what a sheet is, for comparing two ways of building it.
type sheetProjection struct {
	Status       round.SheetStatus
	Seq          int64
	Answers      []round.Answer
	ReviewState  review.SheetState
	Review       []review.Answer
	History      []review.StatusChange
	Participants []review.Participant
}

func projectionOf(sh *round.Sheet) sheetProjection {
	return sheetProjection{sh.Status, sh.Seq, sh.Answers(), sh.Review.State, sh.Review.Answers(), sh.Review.History, sh.Review.Participants}
}

// checkAckedSaves reads every saved answer's history through the service: each acknowledged
// save is there once, at the version it was acknowledged with, with its text; versions run 1..n.
func checkAckedSaves(t *testing.T, base string, seed *crashSeed, clients *crashClients) (found int) {
	histories := map[string]map[int]string{}
	for _, s := range clients.saves {
		key := s.country + "/" + s.indicator
		h, ok := histories[key]
		if !ok {
			h = map[int]string{}
			// Newest first, page after page: versions run n..1.
			want, after := 0, ""
			for first := true; first || after != ""; first = false {
				status, b, _, err := crashRequest(http.MethodGet, base+"/v1/rounds/collect/countries/"+s.country+"/answers/"+s.indicator+"/history?limit=200&after="+url.QueryEscape(after), seed.experts[s.country], "", "")
				var out struct {
					Versions []struct {
						Version int
						Answer  struct{ Comment string }
					}
					Next string
				}
				if err != nil || status != http.StatusOK || json.Unmarshal(b, &out) != nil {
					t.Fatalf("history of %s: %d %s %v", key, status, b, err)
				}
				for _, v := range out.Versions {
					if want == 0 {
						want = v.Version
					}
					if v.Version != want {
						t.Errorf("%s: history version %d where %d was due: versions are not n..1", key, v.Version, want)
					}
					want = v.Version - 1
					h[v.Version] = v.Answer.Comment
				}
				after = out.Next
			}
			if want != 0 {
				t.Errorf("%s: the history ends at version %d, not 1", key, want+1)
			}
			histories[key] = h
		}
		if h[s.version] == s.comment {
			found++
		} else {
			t.Errorf("acknowledged save %s version %d (%q) is not in the history (it has %q)", key, s.version, s.comment, h[s.version])
		}
	}
	return found
}

// checkCrashInvariants opens the killed files in this process: every acknowledged verdict is
// on its answer, no reviewer judged a version twice, each sheet's log is contiguous and its
// projection equals the replay of the whole log.
func checkCrashInvariants(t *testing.T, dir string, seed *crashSeed, clients *crashClients) (foundVerdicts int) {
	ctx := context.Background()
	open := func() *mongodb.Store {
		store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	store := open()
	// Every acknowledged verdict is on its answer, and no reviewer judged one version twice.
	reviewSheets := map[string]*round.Sheet{}
	for _, c := range seed.reviewCountries {
		sh, err := store.Sheet(ctx, "review", c)
		if err != nil {
			t.Fatal(err)
		}
		reviewSheets[c] = sh
		for _, ans := range sh.Review.Answers() {
			seen := map[string]bool{}
			for _, v := range ans.Verdicts {
				k := fmt.Sprintf("%s@%d", v.Reviewer, v.Version)
				if seen[k] {
					t.Errorf("%s/%s: reviewer %s judged version %d twice", c, ans.Indicator, v.Reviewer, v.Version)
				}
				seen[k] = true
			}
		}
	}
	for _, v := range clients.verdicts {
		ans := reviewSheets[v.country].Review.Answer(v.indicator)
		if slices.ContainsFunc(ans.Verdicts, func(got review.Verdict) bool { return got.Reviewer == v.reviewer && got.Decision == v.decision }) {
			foundVerdicts++
		} else {
			t.Errorf("acknowledged verdict %s/%s by %s (%s) is not on the answer", v.country, v.indicator, v.reviewer, v.decision)
		}
	}

	// Each sheet's log is contiguous: positions 1..Seq, no gap, none beyond.
	type sheetKey struct{ round, country string }
	var sheets []sheetKey
	for _, c := range seed.countries {
		sheets = append(sheets, sheetKey{"collect", c})
	}
	for _, c := range seed.reviewCountries {
		sheets = append(sheets, sheetKey{"review", c})
	}
	// One scan of the log (a filter on stream is a scan on the embedded store anyway).
	cur, err := store.Database().Collection("events").Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"stream": 1, "seq": 1}))
	if err != nil {
		t.Fatal(err)
	}
	var all []struct {
		ID     string `bson:"_id"`
		Stream string `bson:"stream"`
		Seq    int64  `bson:"seq"`
	}
	if err := cur.All(ctx, &all); err != nil {
		t.Fatal(err)
	}
	positions := map[string][]int64{}
	for _, e := range all {
		if e.ID != fmt.Sprintf("%s/%012d", e.Stream, e.Seq) {
			t.Errorf("log entry %s says stream %s, position %d", e.ID, e.Stream, e.Seq)
		}
		positions[e.Stream] = append(positions[e.Stream], e.Seq)
	}
	projections := map[sheetKey]sheetProjection{}
	for _, k := range sheets {
		sh, err := store.Sheet(ctx, k.round, k.country)
		if err != nil {
			t.Fatal(err)
		}
		projections[k] = projectionOf(sh)
		stream := "sheet/" + k.round + "/" + k.country
		seqs := positions[stream]
		slices.Sort(seqs)
		for i, seq := range seqs {
			if seq != int64(i+1) {
				t.Fatalf("%s: position %d holds entry %d: the log has a gap", stream, i+1, seq)
			}
		}
		if int64(len(seqs)) != sh.Seq {
			t.Errorf("%s: %d log entries, the sheet is at position %d", stream, len(seqs), sh.Seq)
		}
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The projection equals the replay of the whole log: drop the checkpoints and read again
	// on a fresh store (nothing cached).
	store = open()
	defer func() { _ = store.Close(context.Background()) }()
	for _, k := range sheets {
		if _, err := store.Database().Collection("sheets").DeleteOne(ctx, bson.M{"_id": k.round + "/" + k.country}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range sheets {
		sh, err := store.Sheet(ctx, k.round, k.country)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(projections[k], projectionOf(sh), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s/%s: the projection differs from the replay of the log (-projection +replay):\n%s", k.round, k.country, diff)
		}
	}
	return foundVerdicts
}
