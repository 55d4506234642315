package api_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// auditOf reads every event of one entity, as c.
func auditOf(t *testing.T, c *apitest.Client, entity string) []auditEvent {
	t.Helper()
	return listAudit(t, c, url.Values{"entity": {entity}, "limit": {"500"}}).Events
}

// withAction keeps the events of one action.
func withAction(events []auditEvent, action string) []auditEvent {
	var out []auditEvent
	for _, e := range events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// TestLockReopenPublishAndExportAreAudited reads the audit trail, as the round's coordinator,
// after a lock, a reopen with its reason, a second lock, the publication and exports: each is
// an event naming the coordinator and the request. Exports by the coordinator are recorded
// (provisional before publication), a refused export and the public's downloads are not.
func TestLockReopenPublishAndExportAreAudited(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	w := newPublishWorld(t, env, "aud", "AT")
	w.ready(t, "AT")
	me := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/me"})
	want(t, me, 200, "me")
	coordID, _ := me.JSON(t)["id"].(string)
	sheet := "/v1/rounds/aud/countries/AT"

	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/lock"}), 200, "lock")
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/aud/export?format=csv&shape=wide"}), 200, "provisional export")
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/aud/export?format=pdf", Invalid: true}), 400, "export in an unknown format")
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/reopen", Body: map[string]any{"reason": "a source was misdated"}}), 200, "reopen")
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/lock"}), 200, "lock again")
	for _, status := range []string{"closed", "published"} {
		cur := w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/aud"})
		want(t, w.coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/aud/status", Header: etagOf(cur), Body: map[string]any{"status": status}}), 200, status)
	}
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/aud/export?format=xlsx&shape=long"}), 200, "export")
	want(t, env.Client().Do(apitest.Request{Method: "GET", Path: "/v1/public/rounds/aud/export"}), 200, "public export")

	byCoordinator := func(what string, events []auditEvent, n int) {
		t.Helper()
		if len(events) != n {
			t.Fatalf("%s: %d events, want %d", what, len(events), n)
		}
		for _, e := range events {
			if e.Actor != coordID || e.RequestID == "" {
				t.Fatalf("%s: the event names %q (request %q), not the coordinator %q", what, e.Actor, e.RequestID, coordID)
			}
		}
	}
	sheetEvents := auditOf(t, w.coord, "sheet/aud/AT")
	byCoordinator("lock", withAction(sheetEvents, "review.lock"), 2)
	reopen := withAction(sheetEvents, "review.reopen")
	byCoordinator("reopen", reopen, 1)
	var reopened struct {
		Review []struct {
			Reason string `json:"reason"`
		} `json:"review"`
	}
	if err := remarshal(reopen[0].After, &reopened); err != nil || len(reopened.Review) != 1 || reopened.Review[0].Reason != "a source was misdated" {
		t.Fatalf("the reopen's event does not carry its reason: %v %v", err, reopen[0].After)
	}
	byCoordinator("publication", withAction(auditOf(t, w.coord, "round/aud"), "round.status.published"), 1)

	exports := auditOf(t, w.coord, "export/aud")
	byCoordinator("exports", withAction(exports, "round.export"), 2)
	if len(exports) != 2 {
		t.Fatalf("%d export events, want the coordinator's 2 (not the refused one, not the public's)", len(exports))
	}
	type recorded struct {
		Round       string `json:"round"`
		Status      string `json:"status"`
		Format      string `json:"format"`
		Shape       string `json:"shape"`
		Provisional bool   `json:"provisional"`
	}
	wantExports := []recorded{{"aud", "open", "csv", "wide", true}, {"aud", "published", "xlsx", "long", false}}
	for i, e := range exports {
		var got recorded
		if err := remarshal(e.After, &got); err != nil || got != wantExports[i] {
			t.Fatalf("export event %d: %v %v, want %+v", i, err, e.After, wantExports[i])
		}
	}
	// Another round's coordinator does not read this round's exports.
	other, _ := env.As(auth.RoleNone)
	want(t, other.Do(apitest.Request{Method: "GET", Path: "/v1/audit?entity=export/aud"}), 403, "audit of another round's exports")
}

// remarshal decodes an event's state (decoded as a map) into v.
func remarshal(state map[string]any, v any) error {
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// TestAuditEventsAreTypedByKind plays a round to publication with a webhook beside it and reads
// the whole trail back: every kind of entity appears, each event with the kind that says the
// shape of its before and after, and every field of each is one the document declares (the
// client checks every response strictly against openapi.yaml). A user's state reads as the users
// API shows a user.
func TestAuditEventsAreTypedByKind(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	w := newPublishWorld(t, env, "typed", "AT")
	w.ready(t, "AT")
	sheet := "/v1/rounds/typed/countries/AT"
	want(t, w.coord.Do(apitest.Request{Method: "POST", Path: sheet + "/lock"}), 200, "lock")
	want(t, w.coord.Do(apitest.Request{Method: "GET", Path: "/v1/rounds/typed/export?format=csv&shape=long"}), 200, "export")
	admin, _ := env.As(auth.RoleAdmin)
	hook := admin.Do(apitest.Request{Method: "POST", Path: "/v1/webhooks", Body: map[string]any{"url": "https://hooks.example.org/typed"}})
	want(t, hook, 201, "webhook")
	id, _ := hook.JSON(t)["id"].(string)
	want(t, admin.Do(apitest.Request{Method: "DELETE", Path: "/v1/webhooks/" + id}), 204, "webhook deleted")

	kinds := map[string]int{}
	query := url.Values{"limit": {"200"}}
	for {
		r := admin.Do(apitest.Request{Method: "GET", Path: "/v1/audit?" + query.Encode()})
		want(t, r, 200, "audit")
		var page struct {
			Events []struct {
				Kind, Entity string
				Before       map[string]any
				After        map[string]any
			}
			Next string
		}
		r.Decode(t, &page)
		for _, e := range page.Events {
			kinds[e.Kind]++
			if e.Kind == "user" {
				if _, ok := e.After["email"]; !ok {
					t.Fatalf("user event %s: after %v is not in the users API's shape", e.Entity, e.After)
				}
			}
		}
		if page.Next == "" {
			break
		}
		query.Set("after", page.Next)
	}
	for _, k := range []string{"user", "round", "sheet", "questionnaire", "questionnaire_version", "webhook", "export"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event in the trail (kinds seen: %v)", k, kinds)
		}
	}
	if len(kinds) != 7 {
		t.Errorf("kinds seen: %v, want exactly the seven the document declares", kinds)
	}
}
