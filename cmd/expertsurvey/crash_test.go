package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
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

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
	"github.com/expertsurvey/expertsurvey/mongodb"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

const crashKeys = "crash:Y3Jhc2gtdGVzdC1rZXktdGhhdC1pcy1hdC1sZWFzdC0zMi1ieXRlcyE="

// crashSeed is the data the crash test writes to: round "collect" open for experts (one per
// country), round "review" with every sheet submitted, two reviewers per country and two
// verdicts per answer.
type crashSeed struct {
	countries  []string
	indicators int
	experts    map[string]string   // country -> access token
	reviewers  map[string][]string // country -> access tokens
	reviewerID map[string]string   // token -> user id
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
	a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: crashKeys, AccessTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s := &crashSeed{countries: loadkit.Countries(2), indicators: 40, experts: map[string]string{}, reviewers: map[string][]string{}, reviewerID: map[string]string{}}
	if err := loadkit.PublishInstrument(ctx, a, s.indicators); err != nil {
		t.Fatal(err)
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "collect", Countries: s.countries, Indicators: s.indicators}); err != nil {
		t.Fatal(err)
	}
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "review", Countries: s.countries, Indicators: s.indicators, ReviewersPerAnswer: 2, Submit: true}); err != nil {
		t.Fatal(err)
	}
	person := func(email string, as auth.Assignment) (string, string) {
		u, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: email, DisplayName: email, Password: "crash test password"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Auth.Grant(ctx, loadkit.Admin, u.ID, as, u.Version); err != nil {
			t.Fatal(err)
		}
		sess, err := a.Auth.Login(ctx, email, "crash test password", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return sess.AccessToken, u.ID
	}
	for _, c := range s.countries {
		s.experts[c], _ = person("expert-"+c+"@crash.test", auth.Assignment{Role: auth.RoleExpert, Round: "collect", Country: c})
		for k := range 2 {
			token, id := person(fmt.Sprintf("reviewer%d-%s@crash.test", k, c), auth.Assignment{Role: auth.RoleReviewer, Round: "review", Country: c})
			s.reviewers[c] = append(s.reviewers[c], token)
			s.reviewerID[token] = id
		}
	}
	return s
}

// killable is the service in a child process (this test binary as main, see TestMain).
type killable struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
}

func spawn(t *testing.T, dir string) *killable {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k := &killable{logs: &lockedBuffer{}}
	k.cmd = exec.Command(exe)
	k.cmd.Env = append(os.Environ(), "EXPERTSURVEY_TEST_SERVE=serve --addr 127.0.0.1:0 --log-format text --webhook-workers 0 --data-dir "+dir,
		"EXPERTSURVEY_JWT_KEYS="+crashKeys)
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
	dir := t.TempDir()
	seed := seedCrash(t, dir)
	clients := newCrashClients(seed)
	const kills = 3
	for i := range kills {
		k := spawn(t, dir)
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
		t.Logf("kill %d: %d saves and %d verdicts acknowledged so far", i+1, len(clients.saves), len(clients.verdicts))
		clients.mu.Unlock()
	}
	// One more start on the killed files: the service comes up and serves.
	k := spawn(t, dir)
	status, _, _, err := crashRequest(http.MethodGet, k.base+"/v1/rounds/collect/countries/"+seed.countries[0], seed.experts[seed.countries[0]], "", "")
	k.kill()
	if err != nil || status != http.StatusOK {
		t.Fatalf("after the kills, a sheet read: %d %v", status, err)
	}
	if len(clients.saves) == 0 || len(clients.verdicts) == 0 {
		t.Fatalf("nothing was acknowledged (%d saves, %d verdicts): the kills came too early to prove anything", len(clients.saves), len(clients.verdicts))
	}
	checkCrashInvariants(t, dir, seed, clients)
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

func checkCrashInvariants(t *testing.T, dir string, seed *crashSeed, clients *crashClients) {
	ctx := context.Background()
	open := func() (*mongodb.Store, *app.App) {
		store, err := mongodb.Open(ctx, mongodb.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(store, app.Options{Logger: slog.New(slog.DiscardHandler), JWTKeys: crashKeys})
		if err != nil {
			t.Fatal(err)
		}
		return store, a
	}
	store, a := open()
	// Every acknowledged save is its answer's version, once, with its text.
	foundSaves := 0
	histories := map[string][]round.AnswerVersion{}
	for _, s := range clients.saves {
		key := s.country + "/" + s.indicator
		h, ok := histories[key]
		if !ok {
			var err error
			if h, err = a.Rounds.History(ctx, loadkit.Admin, "collect", s.country, s.indicator); err != nil {
				t.Fatal(err)
			}
			histories[key] = h
			for i, v := range h {
				if v.Version != i+1 {
					t.Errorf("%s: history versions %v are not 1..n", key, versionsOf(h))
					break
				}
			}
		}
		if i := slices.IndexFunc(h, func(v round.AnswerVersion) bool { return v.Version == s.version }); i >= 0 && h[i].Answer.Comment == s.comment {
			foundSaves++
		} else {
			t.Errorf("acknowledged save %s version %d (%q) is not in the history", key, s.version, s.comment)
		}
	}
	// Every acknowledged verdict is on its answer, and no reviewer judged one version twice.
	foundVerdicts := 0
	reviewSheets := map[string]*round.Sheet{}
	for _, c := range seed.countries {
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
	t.Logf("acknowledged vs found: saves %d/%d, verdicts %d/%d (%d requests sent)",
		len(clients.saves), foundSaves, len(clients.verdicts), foundVerdicts, clients.attempts)

	// Each sheet's log is contiguous: positions 1..Seq, no gap, none beyond.
	type sheetKey struct{ round, country string }
	var sheets []sheetKey
	for _, c := range seed.countries {
		sheets = append(sheets, sheetKey{"collect", c}, sheetKey{"review", c})
	}
	projections := map[sheetKey]sheetProjection{}
	for _, k := range sheets {
		sh, err := store.Sheet(ctx, k.round, k.country)
		if err != nil {
			t.Fatal(err)
		}
		projections[k] = projectionOf(sh)
		stream := "sheet/" + k.round + "/" + k.country
		cur, err := store.Database().Collection("events").Find(ctx, bson.M{"stream": stream})
		if err != nil {
			t.Fatal(err)
		}
		var entries []struct {
			ID  string `bson:"_id"`
			Seq int64  `bson:"seq"`
		}
		if err := cur.All(ctx, &entries); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(entries, func(a, b struct {
			ID  string `bson:"_id"`
			Seq int64  `bson:"seq"`
		}) int {
			return int(a.Seq - b.Seq)
		})
		for i, e := range entries {
			if e.Seq != int64(i+1) || e.ID != fmt.Sprintf("%s/%012d", stream, i+1) {
				t.Fatalf("%s: entry %d is %s (seq %d): the log has a gap or a stray entry", stream, i+1, e.ID, e.Seq)
			}
		}
		if int64(len(entries)) != sh.Seq {
			t.Errorf("%s: %d log entries, the sheet is at position %d", stream, len(entries), sh.Seq)
		}
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The projection equals the replay of the whole log: drop the checkpoints and read again
	// on a fresh store (nothing cached).
	store, _ = open()
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
}

func versionsOf(h []round.AnswerVersion) []int {
	out := make([]int, len(h))
	for i, v := range h {
		out[i] = v.Version
	}
	return out
}
