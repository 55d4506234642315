package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/expertsurvey/expertsurvey/app"
	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/internal/loadkit"
)

// verdictReviewers is how many reviewers give verdicts in the review phases; with the bulk
// approver they make the round's reviewers_per_answer (5, the most a round allows), so that every
// verdict is accepted: an answer stays submitted until the last of them.
const verdictReviewers = 4

// reviewSetup is a round "review" of submitted sheets, its reviewers' tokens, and where each
// sheet's next verdict goes.
type reviewSetup struct {
	countries  []string
	reviewers  []string // access tokens of the verdict reviewers
	bulkToken  string
	tasksToken string // a reviewer of 10 sheets
	next       []int  // per sheet: verdicts given so far (reviewer-major, then indicator)
}

// setUpReview creates round "review" over the load instrument with max(32, clients) sheets,
// every answer imported and every sheet submitted, and the reviewers.
func setUpReview(ctx context.Context, a *app.App, clients int) (*reviewSetup, error) {
	cs := countries(max(32, clients))
	if err := loadkit.Seed(ctx, a, loadkit.Round{ID: "review", Countries: cs, Indicators: indicators, ReviewersPerAnswer: verdictReviewers + 1, Submit: true}); err != nil {
		return nil, err
	}
	ctx = audit.WithOrigin(ctx, audit.SystemActor, "load")
	admin := loadkit.Admin
	rv := &reviewSetup{countries: cs, next: make([]int, len(cs))}
	reviewer := func(name string, countries []string) (string, error) {
		email := name + "@load.test"
		u, _, err := a.Auth.BootstrapUser(ctx, auth.NewUser{Email: email, DisplayName: name, Password: "load test password 1"})
		if err != nil {
			return "", err
		}
		for _, c := range countries {
			if u, err = a.Auth.Grant(ctx, admin, u.ID, auth.Assignment{Role: auth.RoleReviewer, Round: "review", Country: c}, u.Version); err != nil {
				return "", err
			}
		}
		sess, err := a.Auth.Login(ctx, email, "load test password 1", "127.0.0.1")
		return sess.AccessToken, err
	}
	for k := range verdictReviewers {
		t, err := reviewer(fmt.Sprintf("reviewer%d", k), cs)
		if err != nil {
			return nil, err
		}
		rv.reviewers = append(rv.reviewers, t)
	}
	var err error
	if rv.bulkToken, err = reviewer("bulk", cs); err != nil {
		return nil, err
	}
	if rv.tasksToken, err = reviewer("tasks", cs[:10]); err != nil {
		return nil, err
	}
	return rv, nil
}

// verdicts: each client approves answers of its own sheets (worker w has sheets w, w+n, ...),
// as one reviewer after another, so that every request is an accepted verdict.
func (rv *reviewSetup) verdicts(client *http.Client, base string, n int, d time.Duration) *result {
	return measure(n, d, func(w, _ int) error {
		sheet := -1
		for s := w; s < len(rv.countries); s += n {
			if rv.next[s] < verdictReviewers*indicators {
				sheet = s
				break
			}
		}
		if sheet < 0 {
			time.Sleep(time.Millisecond)
			return fmt.Errorf("worker %d has given every verdict its sheets take", w)
		}
		k := rv.next[sheet]
		rv.next[sheet]++
		token, code := rv.reviewers[k/indicators], fmt.Sprintf("I%04d", k%indicators)
		return post(client, base+"/v1/rounds/review/countries/"+rv.countries[sheet]+"/answers/"+code+"/verdicts", token, `"1"`, `{"decision":"approve"}`)
	})
}

// bulkApprovals approves every remaining answer of each sheet in turn, as one reviewer, one
// request per sheet.
func (rv *reviewSetup) bulkApprovals(client *http.Client, base string) *result {
	sheet := 0
	return measure(1, time.Hour, func(int, int) error {
		if sheet >= len(rv.countries) {
			return errDone
		}
		c := rv.countries[sheet]
		sheet++
		return post(client, base+"/v1/rounds/review/countries/"+c+"/approvals", rv.bulkToken, "", `{"all_remaining":true}`)
	})
}

func post(client *http.Client, url, token, ifMatch, body string) error {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	return do(client, req, http.StatusOK)
}

func get(client *http.Client, url, token string, want int) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return do(client, req, want)
}

func do(client *http.Client, req *http.Request, want int) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %.200s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return nil
}
