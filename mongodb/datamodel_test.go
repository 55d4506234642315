package mongodb_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/expertsurvey/expertsurvey/audit"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
	"github.com/expertsurvey/expertsurvey/review"
	"github.com/expertsurvey/expertsurvey/round"
)

// docQueries returns every mongosh line of docs/data-model.md's js blocks.
func docQueries(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../docs/data-model.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "```js":
			in = true
		case line == "```":
			in = false
		case in && strings.HasPrefix(line, "db."):
			out = append(out, line)
		}
	}
	return out
}

var queryRe = regexp.MustCompile(`^db\.(\w+)\.(find|aggregate)\((.*?)\)(?:\.sort\((.*)\))?$`)

// extJSONArgs parses a call's arguments as relaxed extended JSON values.
func extJSONArgs(t *testing.T, args string) bson.A {
	t.Helper()
	var wrapped struct{ A bson.A }
	if err := bson.UnmarshalExtJSON([]byte(`{"a": [`+args+`]}`), false, &wrapped); err != nil {
		t.Fatalf("arguments %s: %v", args, err)
	}
	return wrapped.A
}

// runDocQuery runs one mongosh line through the driver and returns what it found.
func runDocQuery(t *testing.T, db *mongo.Database, line string) []bson.M {
	t.Helper()
	m := queryRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("cannot run %q: only db.<collection>.find(...)[.sort(...)] and .aggregate([...]) are understood", line)
	}
	ctx := context.Background()
	col := db.Collection(m[1])
	args := extJSONArgs(t, m[3])
	var cur *mongo.Cursor
	var err error
	if m[2] == "find" {
		opts := options.Find()
		if len(args) > 1 {
			opts.SetProjection(args[1])
		}
		if m[4] != "" {
			opts.SetSort(extJSONArgs(t, m[4])[0])
		}
		cur, err = col.Find(ctx, args[0], opts)
	} else {
		cur, err = col.Aggregate(ctx, args[0])
	}
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return docs
}

// TestDataModelQueriesRun seeds two sheets and runs every query of docs/data-model.md: each must
// run and find something, and the history query must find every version in order.
func TestDataModelQueriesRun(t *testing.T) {
	s := mongodbtest.New(t)
	ctx := audit.WithOrigin(context.Background(), "u_expert", "req")
	law := round.Source{Kind: "law", Title: "Aliens Employment Act", Reference: "§ 4(2)", URL: "https://example.org/aea"}
	reviewer := review.Actor{ID: "u_reviewer", Role: auth.RoleReviewer}
	for _, country := range []string{"AT", "DE"} {
		// Eight versions: enough entries for a checkpoint (mongodb.CheckpointInterval), which the
		// queries on sheets read.
		for v, option := range []string{"equal", "some_limits", "equal", "labour_test", "equal", "some_limits", "equal", "labour_test"} {
			answers := []round.Answer{{Indicator: "LMM_1", Option: option, Comment: fmt.Sprint("version ", v+1), Sources: []round.Source{law}}}
			if v == 0 {
				answers = append(answers, round.Answer{Indicator: "LMM_2", Option: "open", Sources: []round.Source{{Kind: "policy", Title: "Plan"}}})
			}
			if _, err := s.UpdateSheet(ctx, "demo-2025", country, func(*round.Sheet) (*round.Change, error) {
				return &round.Change{Action: "answer.save", Answers: answers, Status: round.SheetInProgress}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if country == "AT" && v == 2 {
				// A reviewer's request for changes on AT's LMM_1, as the review package records it.
				if _, err := s.UpdateSheet(ctx, "demo-2025", "AT", func(*round.Sheet) (*round.Change, error) {
					return &round.Change{Action: string(review.MoveRequestChanges), Review: []review.Change{{
						Move: review.MoveRequestChanges, Actor: reviewer, Indicator: "LMM_1", Version: 3,
						Answers: []review.AnswerStep{{Indicator: "LMM_1", From: review.AnswerSubmitted, To: review.AnswerChangesRequested}},
						Verdict: &review.Verdict{Reviewer: reviewer.ID, Decision: review.RequestChanges, Version: 3, Reason: "the 2024 amendment"},
					}}}, nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	s.WaitForCheckpoints(ctx)
	queries := docQueries(t)
	if len(queries) < 5 {
		t.Fatalf("found %d queries in docs/data-model.md", len(queries))
	}
	for _, q := range queries {
		docs := runDocQuery(t, s.Database(), q)
		if len(docs) == 0 {
			t.Errorf("%s found nothing", q)
		}
		if strings.Contains(q, `"after.answers.indicator": "LMM_1"`) && strings.Contains(q, "sheet/demo-2025/AT") {
			if len(docs) != 8 {
				t.Errorf("history of LMM_1: %d versions, want 8", len(docs))
			}
			for i, d := range docs {
				// Entry 4 is the reviewer's verdict, not a version of the answer.
				if want := fmt.Sprintf("sheet/demo-2025/AT/%012d", []int{1, 2, 3, 5, 6, 7, 8, 9}[i]); d["_id"] != want {
					t.Errorf("history entry %d is %v, want %s", i, d["_id"], want)
				}
			}
		}
	}
}
