package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/expertsurvey/expertsurvey/internal/loadkit"
)

const (
	roleExpert      = "expert"
	roleReviewer    = "reviewer"
	roleCoordinator = "coordinator"
)

// user is one simulated person. Users with the same account share its session (shared mode).
type user struct {
	role    string
	email   string // the account
	country string
	token   string
	// share: an expert's indicators (the country's experts split the sheet), or the
	// indicators a reviewer has still to give a verdict on, in a random order.
	share []int
	// etags of the answers an expert saved, by indicator (seeded answers are at version 1).
	etags map[int]string
	rng   *rand.Rand
	// countries lists every country, for coordinators.
	countries []string
}

// population is the cast of a run.
type population struct {
	users              []*user
	reviewersPerAnswer int
	admin              *user
}

// newPopulation splits cfg.Users into 60% experts, 30% reviewers and the rest coordinators,
// spread evenly over the countries. Each expert saves a share of the country's indicators (the
// country's experts split the sheet). Each reviewer judges every answer of the country's
// submitted sheet, so that the round asks as many verdicts per answer as the country has
// reviewers (5 at most); with SharedAccounts, the reviewers of a country share one account and
// split the answers, which then take one verdict each.
func newPopulation(cfg Config) *population {
	countries := loadkit.Countries(cfg.Countries)
	experts, reviewers := cfg.Users*6/10, cfg.Users*3/10
	p := &population{admin: &user{email: adminEmail}}
	perCountry := func(n, c int) int { return n/len(countries) + min(1, max(0, n%len(countries)-c)) }
	split := func(k, n, indicators int) (share []int) {
		for i := k; i < indicators; i += n {
			share = append(share, i)
		}
		return share
	}
	for e := range experts {
		c, k := e%len(countries), e/len(countries)
		u := &user{role: roleExpert, email: fmt.Sprintf("expert%d@load.test", e), country: countries[c], etags: map[int]string{},
			rng: rand.New(rand.NewPCG(uint64(e), 1)), share: split(k, perCountry(experts, c), cfg.Indicators)}
		if cfg.SharedAccounts {
			u.email = "expert-" + u.country + "@load.test"
		}
		p.users = append(p.users, u)
	}
	p.reviewersPerAnswer = min(5, max(1, perCountry(reviewers, 0)))
	if cfg.SharedAccounts {
		p.reviewersPerAnswer = 1
	}
	for r := range reviewers {
		c, k := r%len(countries), r/len(countries)
		u := &user{role: roleReviewer, email: fmt.Sprintf("reviewer%d@load.test", r), country: countries[c],
			rng: rand.New(rand.NewPCG(uint64(r), 2))}
		u.share = u.rng.Perm(cfg.Indicators)
		if cfg.SharedAccounts {
			u.email = "reviewer-" + u.country + "@load.test"
			u.share = split(k, perCountry(reviewers, c), cfg.Indicators)
			u.rng.Shuffle(len(u.share), func(i, j int) { u.share[i], u.share[j] = u.share[j], u.share[i] })
		}
		p.users = append(p.users, u)
	}
	for c := range cfg.Users - experts - reviewers {
		u := &user{role: roleCoordinator, email: fmt.Sprintf("coordinator%d@load.test", c), countries: countries,
			rng: rand.New(rand.NewPCG(uint64(c), 3))}
		if cfg.SharedAccounts {
			u.email = fmt.Sprintf("coordinator%d@load.test", c/5) // five sessions each, under the per-client bound
		}
		p.users = append(p.users, u)
	}
	return p
}

func (p *population) firstExpert() *user { return p.users[0] }

// signIn creates every user through the API as the admin, grants their assignment and signs
// them in, a few at a time (as an admin's script would, under the per-client bound).
func (p *population) signIn(ctx context.Context, client *http.Client, base string) error {
	var err error
	if p.admin.token, err = login(client, base, adminEmail); err != nil {
		return err
	}
	work := make(chan *user)
	errs := make(chan error, len(p.users))
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				errs <- p.create(client, base, u)
			}
		}()
	}
	accounts := map[string]*user{}
	for _, u := range p.users {
		if accounts[u.email] == nil {
			accounts[u.email] = u
			work <- u
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	for _, u := range p.users {
		u.token = accounts[u.email].token
	}
	return ctx.Err()
}

func (p *population) create(client *http.Client, base string, u *user) error {
	body, _ := json.Marshal(map[string]string{"email": u.email, "display_name": u.email, "password": password})
	status, b, h, err := p.admin.patiently(client, http.MethodPost, base+"/v1/users", "", body)
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("create %s: %d %s %v", u.email, status, b, err)
	}
	var created struct{ User struct{ ID string } }
	_ = json.Unmarshal(b, &created)
	grant := map[string]string{"role": u.role, "round": collectRound, "country": u.country}
	switch u.role {
	case roleReviewer:
		grant["round"] = reviewRound
	case roleCoordinator:
		grant = map[string]string{"role": roleCoordinator, "round": "*"}
	}
	body, _ = json.Marshal(grant)
	status, b, _, err = p.admin.patiently(client, http.MethodPost, base+"/v1/users/"+created.User.ID+"/assignments", h.Get("ETag"), body)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("grant %s: %d %s %v", u.email, status, b, err)
	}
	u.token, err = login(client, base, u.email)
	return err
}

func login(client *http.Client, base, email string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	status, b, _, err := (&user{}).patiently(client, http.MethodPost, base+"/v1/auth/login", "", body)
	if err != nil || status != http.StatusOK {
		return "", fmt.Errorf("login %s: %d %s %v", email, status, b, err)
	}
	var s struct {
		AccessToken string `json:"access_token"`
	}
	err = json.Unmarshal(b, &s)
	return s.AccessToken, err
}

// patiently sends a set-up request until it is not shed, waiting the Retry-After it is given
// (password hashing makes sign-ins slow enough to fill a small write pool).
func (u *user) patiently(client *http.Client, method, url, ifMatch string, body []byte) (int, []byte, http.Header, error) {
	for {
		status, b, h, err := u.request(client, method, url, ifMatch, body)
		if err != nil || !isShed(outcomeOf(status, b, h, nil)) {
			return status, b, h, err
		}
		n, _ := strconv.Atoi(h.Get("Retry-After"))
		time.Sleep(time.Duration(max(n, 1)) * time.Second)
	}
}

func (u *user) answerPath(code string) string {
	return "/v1/rounds/" + collectRound + "/countries/" + u.country + "/answers/" + code
}

// op is one request of the mix: its name in the report, and what the user sends.
type op struct {
	name string
	do   func(u *user, client *http.Client, base string, i int) outcome
}

// outcome is one answer as the user saw it.
type outcome struct {
	status     int
	problem    string // the type of a problem body (to tell shed 503s from others)
	retryAfter string
	err        error
}

// weighted picks an operation by weight.
type weighted struct {
	weight int
	op     op
}

var mixes = map[string][]weighted{
	roleExpert: {
		{4, op{"expert: save answer (PUT)", (*user).saveAnswer}},
		{4, op{"expert: read answer", (*user).readAnswer}},
		{2, op{"expert: load sheet", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+collectRound+"/countries/"+u.country)
		}}},
	},
	roleReviewer: {
		{5, op{"reviewer: verdict (POST)", (*user).verdict}},
		{2, op{"reviewer: work queue", func(u *user, c *http.Client, base string, _ int) outcome { return u.get(c, base+"/v1/me/tasks") }}},
		{3, op{"reviewer: load sheet", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+reviewRound+"/countries/"+u.country)
		}}},
	},
	roleCoordinator: {
		{5, op{"coordinator: dashboard", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+collectRound+"/dashboard")
		}}},
		{2, op{"coordinator: live scores", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+collectRound+"/scores")
		}}},
		{2, op{"coordinator: load sheet", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+collectRound+"/countries/"+u.countries[u.rng.IntN(len(u.countries))])
		}}},
		{1, op{"coordinator: export (CSV, long)", func(u *user, c *http.Client, base string, _ int) outcome {
			return u.get(c, base+"/v1/rounds/"+collectRound+"/export?format=csv&shape=long")
		}}},
	},
}

func (u *user) pick() op {
	total := 0
	for _, w := range mixes[u.role] {
		total += w.weight
	}
	n := u.rng.IntN(total)
	for _, w := range mixes[u.role] {
		if n -= w.weight; n < 0 {
			return w.op
		}
	}
	panic("unreachable")
}

func outcomeOf(status int, body []byte, h http.Header, err error) outcome {
	o := outcome{status: status, err: err}
	if status >= 400 {
		var p struct{ Type string }
		_ = json.Unmarshal(body, &p)
		o.problem, o.retryAfter = p.Type, h.Get("Retry-After")
	}
	return o
}

func (u *user) get(client *http.Client, url string) outcome {
	return outcomeOf(u.request(client, http.MethodGet, url, "", nil))
}

// saveAnswer saves one of the expert's answers on the version it last saw; a 412 (only the
// expert's own earlier save can cause it) brings the current version, as a client would merge.
func (u *user) saveAnswer(client *http.Client, base string, i int) outcome {
	k := u.share[u.rng.IntN(len(u.share))]
	etag, ok := u.etags[k]
	if !ok {
		etag = `"1"`
	}
	status, body, h, err := u.request(client, http.MethodPut, base+u.answerPath(loadkit.Indicator(k)), etag, saveBody(i))
	switch status {
	case http.StatusOK:
		u.etags[k] = h.Get("ETag")
	case http.StatusPreconditionFailed:
		var p struct{ Current struct{ Version int } }
		_ = json.Unmarshal(body, &p)
		u.etags[k] = strconv.Quote(strconv.Itoa(p.Current.Version))
	}
	return outcomeOf(status, body, h, err)
}

func (u *user) readAnswer(client *http.Client, base string, _ int) outcome {
	return u.get(client, base+u.answerPath(loadkit.Indicator(u.share[u.rng.IntN(len(u.share))])))
}

// verdict approves (or, one time in ten, requests changes on) the next answer the reviewer has
// not judged; a reviewer who judged them all reads the sheet instead.
func (u *user) verdict(client *http.Client, base string, _ int) outcome {
	if len(u.share) == 0 {
		return u.get(client, base+"/v1/rounds/"+reviewRound+"/countries/"+u.country)
	}
	k := u.share[0]
	body := []byte(`{"decision":"approve"}`)
	if u.rng.IntN(10) == 0 {
		body = []byte(`{"decision":"request_changes","reason":"The source predates the 2024 amendment; cite the current act."}`)
	}
	status, b, h, err := u.request(client, http.MethodPost,
		base+"/v1/rounds/"+reviewRound+"/countries/"+u.country+"/answers/"+loadkit.Indicator(k)+"/verdicts", `"1"`, body)
	if err == nil && status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests {
		u.share = u.share[1:] // judged, or refused for good (another reviewer's request for changes ended the version's review)
	}
	return outcomeOf(status, b, h, err)
}

// userStats is what one user saw.
type userStats struct {
	ops map[string]*opStats
}

// work runs the user's mix until deadline. A shed request is followed by the pause its
// Retry-After asks for (bounded by the deadline).
func (u *user) work(_ context.Context, client *http.Client, base string, deadline time.Time, cfg Config) *userStats {
	st := &userStats{ops: map[string]*opStats{}}
	for i := 0; time.Now().Before(deadline); i++ {
		o := u.pick()
		t0 := time.Now()
		out := o.do(u, client, base, i)
		took := time.Since(t0)
		s := st.ops[o.name]
		if s == nil {
			s = newOpStats()
			st.ops[o.name] = s
		}
		s.record(out, took)
		if isShed(out) {
			wait := time.Second
			if n, err := strconv.Atoi(out.retryAfter); err == nil && n > 0 {
				wait = time.Duration(n) * time.Second
			}
			time.Sleep(min(wait, time.Until(deadline)))
			continue
		}
		think(cfg.Think)
	}
	return st
}

// isShed tells the load shedder's answers (api/shed.go) from every other 429 and 503.
func isShed(o outcome) bool {
	return (o.status == http.StatusServiceUnavailable && o.problem == "/problems/unavailable") ||
		(o.status == http.StatusTooManyRequests && o.problem == "/problems/too-many-requests")
}
