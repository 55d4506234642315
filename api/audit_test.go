package api_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// Admins and global coordinators read the whole trail; a round's coordinator reads its round's
// entities, one at a time.
var auditMatrixCases = []matrixCase{
	{
		op: "GET /v1/audit", request: get("/v1/audit?limit=5"),
		want: adminOnly(200).with(200, globalCoordinator),
	},
	{
		op: "GET /v1/audit", variant: "one sheet of r1", request: get("/v1/audit?entity=sheet/r1/AT"),
		want: adminOnly(200).with(200, globalCoordinator, roundCoordinator),
	},
	{
		op: "GET /v1/audit", variant: "round r2", request: get("/v1/audit?entity=round/r2"),
		want: adminOnly(200).with(200, globalCoordinator),
	},
	{
		op: "GET /v1/audit", variant: "the exports of r1", request: get("/v1/audit?entity=export/r1"),
		want: adminOnly(200).with(200, globalCoordinator, roundCoordinator),
	},
	{
		op: "GET /v1/audit", variant: "a user", request: get("/v1/audit?entity=user/u_nobody"),
		want: adminOnly(200).with(200, globalCoordinator),
	},
}

type auditEvent struct {
	ID        string         `json:"id"`
	Actor     string         `json:"actor"`
	Action    string         `json:"action"`
	Entity    string         `json:"entity"`
	Before    map[string]any `json:"before"`
	After     map[string]any `json:"after"`
	Time      time.Time      `json:"time"`
	RequestID string         `json:"request_id"`
}

type auditPage struct {
	Events []auditEvent `json:"events"`
	Next   string       `json:"next"`
}

func listAudit(t *testing.T, c *apitest.Client, query url.Values) auditPage {
	t.Helper()
	r := c.Do(apitest.Request{Method: "GET", Path: "/v1/audit?" + query.Encode()})
	if r.Status != http.StatusOK {
		t.Fatalf("audit %v: %d %s", query, r.Status, r.Body)
	}
	var p auditPage
	r.Decode(t, &p)
	return p
}

func TestAuditHasOneEventPerChangeWithActorAndRequestID(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	adm, admUser := env.As(auth.RoleAdmin)
	withID := func(req apitest.Request, id string) apitest.Request {
		if req.Header == nil {
			req.Header = map[string]string{}
		}
		req.Header["X-Request-Id"] = id
		return req
	}
	start := time.Now().Add(-time.Second)
	r := adm.Do(withID(apitest.Request{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": "audited@example.org", "display_name": "Audited"}}, "req-create"))
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var created struct {
		User userBody `json:"user"`
	}
	r.Decode(t, &created)
	id := created.User.ID
	steps := []struct {
		req  apitest.Request
		rid  string
		want int
	}{
		{userChange("POST", "/v1/users/"+id+"/assignments", 1, map[string]string{"role": "expert", "round": "r1", "country": "AT"}), "req-grant", 200},
		// Granting what the user holds changes nothing, so it writes no event.
		{userChange("POST", "/v1/users/"+id+"/assignments", 2, map[string]string{"role": "expert", "round": "r1", "country": "AT"}), "req-grant-again", 200},
		// A refused change writes no event either.
		{userChange("POST", "/v1/users/"+id+"/assignments", 1, map[string]string{"role": "expert", "round": "r1", "country": "BE"}), "req-stale", 412},
		{userChange("DELETE", "/v1/users/"+id+"/assignments?"+assignmentQuery("expert", "r1", "AT"), 2, nil), "req-revoke", 200},
		{userChange("POST", "/v1/users/"+id+"/disable", 3, nil), "req-disable", 200},
	}
	for _, s := range steps {
		if r := adm.Do(withID(s.req, s.rid)); r.Status != s.want {
			t.Fatalf("%s: %d %s", s.rid, r.Status, r.Body)
		}
	}

	page := listAudit(t, adm, url.Values{"entity": {"user/" + id}})
	want := []struct{ action, rid string }{
		{"user.create", "req-create"},
		{"assignment.grant", "req-grant"},
		{"assignment.revoke", "req-revoke"},
		{"user.disable", "req-disable"},
	}
	if len(page.Events) != len(want) || page.Next != "" {
		t.Fatalf("events %+v, want %d", page.Events, len(want))
	}
	for i, ev := range page.Events {
		if ev.Action != want[i].action || ev.RequestID != want[i].rid || ev.Actor != admUser.ID || ev.Entity != "user/"+id {
			t.Errorf("event %d: %+v, want %s by %s under %s", i, ev, want[i].action, admUser.ID, want[i].rid)
		}
		if ev.After == nil || (i > 0) != (ev.Before != nil) {
			t.Errorf("event %d: before %v after %v", i, ev.Before, ev.After)
		}
		if ev.Time.Before(start) || ev.Time.After(time.Now()) {
			t.Errorf("event %d at %v", i, ev.Time)
		}
	}

	// Filters and the cursor.
	if p := listAudit(t, adm, url.Values{"entity": {"user/" + id}, "action": {"assignment.grant"}}); len(p.Events) != 1 {
		t.Errorf("action filter: %+v", p.Events)
	}
	if p := listAudit(t, adm, url.Values{"actor": {admUser.ID}, "entity": {"user/" + id}}); len(p.Events) != 4 {
		t.Errorf("actor filter: %d events", len(p.Events))
	}
	if p := listAudit(t, adm, url.Values{"entity": {"user/" + id}, "until": {start.UTC().Format(time.RFC3339Nano)}}); len(p.Events) != 0 {
		t.Errorf("until before the changes: %+v", p.Events)
	}
	if p := listAudit(t, adm, url.Values{"entity": {"user/" + id}, "since": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}); len(p.Events) != 0 {
		t.Errorf("since after the changes: %+v", p.Events)
	}
	var paged []string
	for after := ""; ; {
		q := url.Values{"entity": {"user/" + id}, "limit": {"3"}}
		if after != "" {
			q.Set("after", after)
		}
		p := listAudit(t, adm, q)
		for _, ev := range p.Events {
			paged = append(paged, ev.Action)
		}
		if after = p.Next; after == "" {
			break
		}
	}
	if len(paged) != 4 || paged[3] != "user.disable" {
		t.Errorf("paged: %v", paged)
	}
	// The CLI's and the tests' own users were created by the system actor.
	if p := listAudit(t, adm, url.Values{"entity": {"user/" + admUser.ID}}); len(p.Events) != 1 || p.Events[0].Actor != "system" {
		t.Errorf("bootstrap event: %+v", p.Events)
	}
	r = adm.Do(apitest.Request{Method: "GET", Path: "/v1/audit?since=yesterday", Invalid: true})
	if r.Status != http.StatusBadRequest || !hasFieldError(decodeProblem(t, r), "since") {
		t.Errorf("bad since: %d %s", r.Status, r.Body)
	}
}

func TestAuditForRoundCoordinators(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})
	for _, tt := range []struct {
		entity string
		status int
	}{
		{"round/r1", 200},
		{"sheet/r1/BE", 200},
		{"round/r2", 403},
		{"sheet/r2/BE", 403},
		{"", 403},
		{"user/u_x", 403},
	} {
		r := coord.Do(apitest.Request{Method: "GET", Path: "/v1/audit?entity=" + url.QueryEscape(tt.entity)})
		if r.Status != tt.status {
			t.Errorf("entity %q: %d, want %d", tt.entity, r.Status, tt.status)
		}
	}
}
