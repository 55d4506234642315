package api_test

// OWASP API Security Top 10 (2023), API3: broken object property level authorization. Requests
// cannot set what the server owns: every JSON body of openapi.yaml is tried with each
// server-owned property it does not take as input, and is refused with 400 naming it (bodies
// are decoded strictly). Responses carry no secret: every GET operation of openapi.yaml, after
// a whole blind review, as each role, is searched for the stored password hashes, refresh-token
// hashes and webhook secrets, and for the identities blind review hides from each side.

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// serverOwned are the properties a client might try to set to raise its rights or rewrite
// history: roles, states, versions, ids, scores, locks, authors and reviewers.
var serverOwned = []string{"role", "global_role", "admin", "status", "state", "version", "revision", "_id", "id", "score",
	"scores", "locked", "locked_at", "locked_by", "author", "author_id", "by", "expert", "reviewer", "reviewer_id",
	"reviewers", "created_by", "created_at", "updated_at", "hash", "password_hash", "disabled", "assignments"}

func TestBodiesCannotSetServerOwnedProperties(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	admin, adminUser := env.As(auth.RoleAdmin)
	before := storeDump(t, env)
	spec, _ := apitest.Spec(t)
	pathValues := map[string]string{"round": "r1", "other": "r1", "country": "AT", "indicator": "LMM_1", "code": "mini-index",
		"version": "1", "id": adminUser.ID, "comment": "c_none", "asset": "none"}
	tried, routes := 0, 0
	paths := spec.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		ops := paths[path].Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			o := ops[method]
			if o.RequestBody == nil || o.RequestBody.Value == nil || o.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			schema := o.RequestBody.Value.Content.Get("application/json").Schema.Value
			inputs := map[string]bool{}
			for name := range schema.Properties {
				inputs[name] = true
			}
			for _, sub := range schema.AllOf {
				for name := range sub.Value.Properties {
					inputs[name] = true
				}
			}
			routes++
			for _, field := range serverOwned {
				if inputs[field] {
					continue // an input of this operation (a role granted, a status asked for)
				}
				tried++
				r := send(env, admin.Token, apitest.Request{Method: method, Path: fillPath(path, pathValues, "wh_none"),
					Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{field: "admin"}})
				// A field error names it; a file importer (a definition sent as JSON) names it in
				// the detail, with its line and column.
				named := strings.Contains(string(r.Body), `"field":"`+field+`"`) || strings.Contains(string(r.Body), `unknown field \"`+field+`\"`)
				if r.Status != http.StatusBadRequest || !named {
					t.Errorf("%s %s with %q: %d %.300s; want 400 naming %s", method, path, field, r.Status, r.Body, field)
				}
			}
		}
	}
	if after := storeDump(t, env); after != before {
		t.Fatal("a refused body changed the store")
	}
	t.Logf("%d bodies over %d operations, each refused with 400 naming the server-owned property", tried, routes)
}

// TestResponsesCarryNoSecrets plays a whole review in a blind round, registers a webhook and
// signs everyone in (so that every kind of secret exists), then calls every GET operation of
// openapi.yaml as the expert, the reviewer, the coordinator and an admin. No response holds a
// stored password hash, refresh-token hash or webhook secret; no response to the expert names
// the reviewer, and none to the reviewer names the expert.
func TestResponsesCarryNoSecrets(t *testing.T) {
	env := apitest.New(t)
	w := newReviewWorldWith(t, env, true)
	w.submit(t)
	w.review(t)
	hook := createWebhook(t, w.adm, "https://hooks.example.org/secrets")
	ex, rv, co := w.people[0], w.people[1], w.people[2]
	for _, u := range w.people {
		mustLogin(t, env.Client(), u.Email, apitest.Password) // a stored refresh token for each
	}
	secrets := storedSecrets(t, env)
	if len(secrets) < len(w.people)*2+1 {
		t.Fatalf("found only %d stored secrets; the search below would prove little", len(secrets))
	}
	spec, _ := apitest.Spec(t)
	pathValues := map[string]string{"round": "r1", "other": "r1", "country": "AT", "indicator": "LMM_1", "code": "mini-index",
		"version": "1", "comment": "c_none", "asset": "index.html"}
	callers := map[string]*apitest.Client{"expert": w.expert, "reviewer": w.reviewer, "coordinator": w.coordinator, "admin": w.adm}
	self := map[string]auth.User{"expert": ex, "reviewer": rv, "coordinator": co}
	calls := 0
	paths := spec.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		o := paths[path].Get
		if o == nil || path == "/metrics" {
			continue
		}
		for name, c := range callers {
			pv := maps.Clone(pathValues)
			pv["id"] = self[name].ID // their own user (others' are 403 to non-admins)
			if pv["id"] == "" {
				pv["id"] = co.ID
			}
			r := send(env, c.Token, apitest.Request{Method: "GET", Path: fillPath(path, pv, hook)})
			calls++
			body := string(r.Body)
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("GET %s as the %s: the response holds a stored secret %.12s...", path, name, s)
				}
			}
			hidden := map[string]auth.User{"expert": rv, "reviewer": ex}
			// The contract and its renderer are files built into the binary, the same for every
			// caller; their examples were recorded from these tests' users, not read from the store.
			static := path == "/openapi.yaml" || strings.HasPrefix(path, "/docs")
			if u, ok := hidden[name]; ok && !static && (strings.Contains(body, u.ID) || strings.Contains(body, u.Email)) {
				t.Errorf("GET %s as the %s under blind review names %s: %.300s", path, name, u.Email, body)
			}
		}
	}
	t.Logf("%d GET responses over %d operations searched for %d stored secrets and the hidden identities", calls, calls/len(callers), len(secrets))
}

// storedSecrets returns every password hash, token hash and webhook secret in the store: string
// values of fields whose name says hash or secret, outside snapshots (whose hashes are public).
func storedSecrets(t *testing.T, env *apitest.Env) []string {
	t.Helper()
	ctx := context.Background()
	db := env.Store.Database()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch x := v.(type) {
		case bson.D:
			for _, e := range x {
				walk(e.Key, e.Value)
			}
		case bson.A:
			for _, e := range x {
				walk(key, e)
			}
		case string:
			k := strings.ToLower(key)
			if (strings.Contains(k, "hash") || strings.Contains(k, "secret")) && len(x) >= 16 {
				out = append(out, x)
			}
		case bson.Binary:
			if k := strings.ToLower(key); strings.Contains(k, "hash") && len(x.Data) >= 16 {
				out = append(out, hex.EncodeToString(x.Data), base64.StdEncoding.EncodeToString(x.Data), base64.RawURLEncoding.EncodeToString(x.Data))
			}
		}
	}
	for _, name := range names {
		if strings.Contains(name, "snapshot") || strings.Contains(name, "audit") {
			continue
		}
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.D
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			walk("", d)
		}
	}
	return out
}
