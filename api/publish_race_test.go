package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// TestLockRacesWritesThroughTwoInstances: while a sheet is ready to lock, eight people keep
// writing to it (comments, which the workflow takes until the lock; answer saves it refuses
// once the sheet is submitted) through two service instances sharing the store, and a
// coordinator locks it on one of them. Afterwards every acknowledged comment is in the
// snapshot, every comment refused was refused with 409 locked, and nothing else was answered.
func TestLockRacesWritesThroughTwoInstances(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	second := apitest.NewOn(t, mongodbtest.SecondInstance(t, env.Store))
	servers := []*apitest.Env{env, second}
	w := newPublishWorld(t, env, "race", "AT")
	w.ready(t, "AT")
	codes := make([]string, 0, len(reviewSheetAnswers))
	for code := range reviewSheetAnswers {
		codes = append(codes, code)
	}

	var mu sync.Mutex
	acked := map[string]string{} // comment text -> indicator
	var refusedAfterLock int
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 8 {
		_, u := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleReviewer, Round: "race", Country: "AT"})
		c := servers[g%2].Client()
		c.Token = loginToken(t, env, u.Email)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 60 {
				code := codes[(g+i)%len(codes)]
				text := fmt.Sprintf("writer %d, comment %d", g, i)
				res := c.Do(apitest.Request{Method: "POST", Path: answerPath("race", "AT", code) + "/comments", Body: map[string]any{"text": text}})
				switch {
				case res.Status == 201:
					mu.Lock()
					acked[text] = code
					mu.Unlock()
				case res.Status == 409 && strings.Contains(string(res.Body), "/problems/locked"):
					mu.Lock()
					refusedAfterLock++
					mu.Unlock()
					return // locked: every later write is refused the same way
				default:
					t.Errorf("comment: %d %s", res.Status, res.Body)
					return
				}
			}
		}()
	}
	coord := second.Client()
	coord.Token = w.coord.Token
	close(start)
	time.Sleep(50 * time.Millisecond)
	want(t, coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/race/countries/AT/lock"}), 200, "lock")
	wg.Wait()

	res := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/race/countries/AT/snapshot"})
	want(t, res, 200, "snapshot")
	var snap struct {
		Answers []struct {
			Indicator string `json:"indicator"`
			Comments  []struct {
				Text string `json:"text"`
			} `json:"comments"`
		} `json:"answers"`
	}
	res.Decode(t, &snap)
	frozen := map[string]string{}
	for _, a := range snap.Answers {
		for _, c := range a.Comments {
			frozen[c.Text] = a.Indicator
		}
	}
	for text, code := range acked {
		if frozen[text] != code {
			t.Errorf("acknowledged comment %q on %s is not in the snapshot", text, code)
		}
	}
	if len(frozen) != len(acked) {
		t.Errorf("the snapshot holds %d comments, %d were acknowledged", len(frozen), len(acked))
	}
	// An expert's save after the lock collides with it too.
	want(t, w.expert.Do(apitest.Request{Method: "PUT", Path: answerPath("race", "AT", "LMM_2"), Header: map[string]string{"If-Match": `"1"`},
		Body: map[string]any{"option": "no", "reason": "late"}}), 409, "save after the lock")
	t.Logf("%d comments acknowledged before the lock, %d writers refused by it", len(acked), refusedAfterLock)
	if refusedAfterLock == 0 {
		t.Log("every writer finished before the lock: the race was not exercised this time")
	}
}
