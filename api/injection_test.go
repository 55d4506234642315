package api_test

// Injection: every string field of a set of request bodies, and the query parameters of a read,
// are tried with MongoDB operator objects, $-prefixed and dotted keys, NUL, invalid UTF-8, a
// 1 MB string, deep nesting and a huge array. Each must get a 4xx problem+json, and the store
// must hold exactly what it held before (a dump of every collection is compared).

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// storeDump returns every document of every collection, as canonical extended JSON, by
// collection and _id.
func storeDump(t *testing.T, env *apitest.Env) string {
	t.Helper()
	ctx := context.Background()
	db := env.Store.Database()
	names, err := db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		cur, err := db.Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		lines := make([]string, len(docs))
		for i, d := range docs {
			lines[i] = d.String()
		}
		slices.Sort(lines)
		fmt.Fprintf(&b, "== %s (%d)\n%s\n", name, len(docs), strings.Join(lines, "\n"))
	}
	return b.String()
}

// stringPaths lists the paths of the string leaves of v: "comment", "sources.0.title".
func stringPaths(v any, path string) []string {
	switch x := v.(type) {
	case string:
		return []string{path}
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, stringPaths(e, strings.TrimPrefix(path+"."+k, "."))...)
		}
		slices.Sort(out)
		return out
	case []any:
		var out []string
		for i, e := range x {
			out = append(out, stringPaths(e, fmt.Sprintf("%s.%d", path, i))...)
		}
		return out
	}
	return nil
}

// withValue returns a deep copy of v with the leaf at path set to val.
func withValue(v any, path []string, val any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = e
		}
		out[path[0]] = withValue(x[path[0]], path[1:], val)
		return out
	case []any:
		out := slices.Clone(x)
		var i int
		fmt.Sscan(path[0], &i)
		out[i] = withValue(x[i], path[1:], val)
		return out
	}
	return val
}

func TestInjectionChangesNothing(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	admin, _ := env.As(auth.RoleAdmin)
	source := map[string]any{"kind": "law", "title": "Act", "reference": "§ 1", "url": "https://example.org/a", "language": "en", "excerpt": "x"}
	bodies := []struct {
		client *apitest.Client
		method string
		path   string
		header map[string]string
		body   map[string]any
	}{
		{expert, "PUT", answerPath("r1", "AT", "LMM_1"), ifMatch(`"0"`), map[string]any{"option": "full", "comment": "c", "na_reason": "", "sources": []any{source}}},
		{expert, "PUT", answerPath("r1", "AT", "LMM_5"), ifMatch(`"0"`), map[string]any{"text": "t", "comment": "c"}},
		{admin, "POST", "/v1/rounds", nil, map[string]any{"id": "r9", "name": "Round 9", "questionnaire": "mini-index", "questionnaire_version": "1", "countries": []any{"AT"}, "previous": "r1", "reference_date": "2025"}},
		{admin, "POST", "/v1/users", nil, map[string]any{"email": "new@example.org", "display_name": "New", "global_role": "none"}},
		{admin, "POST", "/v1/questionnaires", nil, map[string]any{"code": "q-new", "title": "New"}},
	}
	payloads := map[string]any{
		"$ne":            map[string]any{"$ne": ""},
		"$gt":            map[string]any{"$gt": ""},
		"$where":         map[string]any{"$where": "1"},
		"$regex":         map[string]any{"$regex": ".*"},
		"$-key":          map[string]any{"$set": map[string]any{"role": "admin"}},
		"dotted key":     map[string]any{"a.b": "c"},
		"NUL":            "x\x00y",
		"1 MB":           strings.Repeat("a", 1<<20),
		"nested":         nest(200),
		"huge array":     make([]any, 100000),
		"number":         1e308,
		"operator array": []any{map[string]any{"$ne": nil}},
	}
	before := storeDump(t, env)
	tried := 0
	for _, b := range bodies {
		for _, p := range stringPaths(b.body, "") {
			for name, payload := range payloads {
				tried++
				r := b.client.Do(apitest.Request{Method: b.method, Path: b.path, Header: b.header, Body: withValue(b.body, strings.Split(p, "."), payload), Invalid: true})
				if r.Status < 400 || r.Status >= 500 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
					t.Errorf("%s %s, %s = %s: %d %.200s; want a 4xx problem", b.method, b.path, p, name, r.Status, r.Body)
				}
			}
		}
		// Invalid UTF-8 cannot be written through a Go map: splice it into the JSON.
		tried++
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(b.method, b.path, strings.NewReader(`{"comment": "bad `+"\xff\xfe"+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.client.Token)
		for k, v := range b.header {
			req.Header.Set(k, v)
		}
		env.App.Server.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s with invalid UTF-8: %d %.200s; want 400", b.method, b.path, rec.Code, rec.Body)
		}
	}
	// Query parameters of a read and a list.
	for _, q := range []string{"from[$ne]=1&to=1", "from=1&to[$gt]=0", "from=%00&to=1", "from=" + url.QueryEscape(`{"$ne":1}`) + "&to=1", "from=\xff&to=1"} {
		tried++
		r := expert.Do(apitest.Request{Method: "GET", Path: answerPath("r1", "AT", "LMM_1") + "/diff?" + q, Invalid: true})
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("diff?%s: %d %.200s; want a 4xx", q, r.Status, r.Body)
		}
	}
	if after := storeDump(t, env); after != before {
		t.Fatalf("the store changed:\nbefore:\n%.3000s\nafter:\n%.3000s", before, after)
	}
	t.Logf("%d injection requests, each a 4xx problem; the store dump is unchanged", tried)
}

func nest(depth int) any {
	var v any = "x"
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}
