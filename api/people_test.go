package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
	"github.com/expertsurvey/expertsurvey/round"
)

// Only admins import people and copy assignments.
var peopleMatrixCases = []matrixCase{
	{
		op: "POST /v1/users/import",
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			csv := fmt.Sprintf("email,name,role,round,countries\nimported-by-%s-%d@example.org,Imported,expert,%s,%s\n", who, w.seq.Add(1), w.Round, w.CountryA)
			return apitest.Request{Method: "POST", Path: "/v1/users/import", Body: csv, ContentType: "text/csv"}
		},
		want: adminOnly(200),
	},
	{
		op: "POST /v1/rounds/{round}/assignments/copy",
		setup: func(t *testing.T, w *matrixWorld) {
			_, err := w.Env.App.Rounds.CreateRound(context.Background(), systemAdmin, round.RoundInput{ID: "r-next", Name: "Next",
				Questionnaire: "mini-index", QuestionnaireVer: "1", Countries: []string{w.CountryA}})
			if err != nil && !strings.Contains(err.Error(), "exists") && !strings.Contains(err.Error(), "conflict") {
				t.Fatal(err)
			}
		},
		request: func(t *testing.T, w *matrixWorld, who principal) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/v1/rounds/r-next/assignments/copy?dry_run=true", Body: map[string]string{"from": w.Round}}
		},
		want: adminOnly(200),
	},
}

type rosterResult struct {
	DryRun      bool `json:"dry_run"`
	Rows        int
	Users       int
	Created     int
	Updated     int
	Unchanged   int
	Granted     int
	Invitations []struct {
		Email           string
		UserID          string `json:"user_id"`
		InvitationToken string `json:"invitation_token"`
	}
}

type rowProblem struct {
	Row     int
	Column  string
	Message string
}

func uploadRoster(c *apitest.Client, query, csv string) *apitest.Response {
	return c.Do(apitest.Request{Method: "POST", Path: "/v1/users/import" + query, Body: csv, ContentType: "text/csv"})
}

func TestImportUsersOverHTTP(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1")
	adm, _ := env.As(auth.RoleAdmin)
	good := "email,name,role,round,countries\n" +
		"ann@example.org,Ann,expert,r1,at be\n" +
		"ben@example.org,Ben,reviewer,r1,AT\n" +
		"cho@example.org,Cho,coordinator,r1,\n"

	r := uploadRoster(adm, "?dry_run=true", good)
	var res rosterResult
	r.Decode(t, &res)
	if r.Status != http.StatusOK || !res.DryRun || res.Created != 3 || res.Granted != 4 || len(res.Invitations) != 0 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	if _, err := env.App.Auth.UserByEmail(context.Background(), systemAdmin, "ann@example.org"); err == nil {
		t.Fatal("the dry run created a user")
	}

	bad := "email,name,role,round,countries\n" +
		"ann@example.org,Ann,expert,r1,AT\n" +
		"nobody,,expert,r1,AT\n" +
		"ben@example.org,Ben,reviewer,r9,AT\n" +
		"cho@example.org,Cho,expert,r1,FR\n"
	r = uploadRoster(adm, "", bad)
	var p struct {
		Type     string
		Problems []rowProblem
	}
	r.Decode(t, &p)
	var got []string
	for _, rp := range p.Problems {
		got = append(got, fmt.Sprintf("%d/%s", rp.Row, rp.Column))
	}
	if r.Status != http.StatusUnprocessableEntity || p.Type != "/problems/invalid-roster" ||
		strings.Join(got, " ") != "3/email 3/name 4/round 5/countries" {
		t.Fatalf("bad roster: %d %s", r.Status, r.Body)
	}
	if _, err := env.App.Auth.UserByEmail(context.Background(), systemAdmin, "ann@example.org"); err == nil {
		t.Fatal("a refused roster created its valid row's user")
	}

	r = uploadRoster(adm, "", good)
	res = rosterResult{}
	r.Decode(t, &res)
	if r.Status != http.StatusOK || res.Created != 3 || len(res.Invitations) != 3 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	// The invitation works: Ann sets a password with it.
	r = env.Client().Do(apitest.Request{Method: "POST", Path: "/v1/auth/accept-invitation",
		Body: map[string]string{"token": res.Invitations[0].InvitationToken, "password": apitest.Password}})
	if r.Status != http.StatusOK {
		t.Fatalf("accept the invitation: %d %s", r.Status, r.Body)
	}
	// Again, as XLSX with one more row: only the new row is written.
	f := excelize.NewFile()
	lines := strings.Split(strings.TrimSpace(good), "\n")
	lines = append(lines, "ann@example.org,Ann,expert,r1,")
	for i, line := range lines {
		cells := strings.Split(line, ",")
		if i == len(lines)-1 {
			cells = []string{"ann@example.org", "Ann", "coordinator", "r1", ""}
		}
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r = adm.Do(apitest.Request{Method: "POST", Path: "/v1/users/import", Body: buf.Bytes(), ContentType: xlsxMediaType})
	res = rosterResult{}
	r.Decode(t, &res)
	if r.Status != http.StatusOK || res.Created != 0 || res.Updated != 1 || res.Unchanged != 2 || res.Granted != 1 {
		t.Fatalf("xlsx re-import: %d %s", r.Status, r.Body)
	}

	for _, tt := range []struct {
		name   string
		req    apitest.Request
		status int
	}{
		{"not CSV or XLSX", apitest.Request{Method: "POST", Path: "/v1/users/import", Body: "{}", ContentType: "application/json", Invalid: true}, http.StatusUnsupportedMediaType},
		{"bad dry_run", apitest.Request{Method: "POST", Path: "/v1/users/import?dry_run=maybe", Body: good, ContentType: "text/csv", Invalid: true}, http.StatusBadRequest},
		{"over 16 MiB", apitest.Request{Method: "POST", Path: "/v1/users/import", Body: "email,name\n" + strings.Repeat("x", 17<<20), ContentType: "text/csv"}, http.StatusRequestEntityTooLarge},
		{"an unreadable workbook", apitest.Request{Method: "POST", Path: "/v1/users/import", Body: "not a zip", ContentType: xlsxMediaType}, http.StatusUnprocessableEntity},
	} {
		if r := adm.Do(tt.req); r.Status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, r.Status, r.Body, tt.status)
		}
	}
}

func TestCopyAssignmentsOverHTTP(t *testing.T) {
	env := apitest.New(t)
	draftRounds(t, env, "r1", "r2")
	adm, _ := env.As(auth.RoleAdmin)
	if r := uploadRoster(adm, "", "email,name,role,round,countries\nann@example.org,Ann,expert,r1,AT BE\n"); r.Status != http.StatusOK {
		t.Fatalf("import: %d %s", r.Status, r.Body)
	}
	copyReq := func(query, from string) *apitest.Response {
		return adm.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r2/assignments/copy" + query, Body: map[string]string{"from": from}})
	}
	var res struct {
		DryRun    bool `json:"dry_run"`
		Users     int
		Granted   int
		Unchanged int
	}
	r := copyReq("?dry_run=true", "r1")
	r.Decode(t, &res)
	if r.Status != http.StatusOK || !res.DryRun || res.Granted != 2 {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	r = copyReq("", "r1")
	r.Decode(t, &res)
	if r.Status != http.StatusOK || res.Granted != 2 {
		t.Fatalf("copy: %d %s", r.Status, r.Body)
	}
	r = copyReq("", "r1")
	r.Decode(t, &res)
	if r.Status != http.StatusOK || res.Granted != 0 || res.Unchanged != 2 {
		t.Fatalf("copy again: %d %s", r.Status, r.Body)
	}
	if r := copyReq("", "r9"); r.Status != http.StatusUnprocessableEntity || !hasFieldError(decodeProblem(t, r), "from") {
		t.Fatalf("unknown from: %d %s", r.Status, r.Body)
	}
	if r := adm.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r9/assignments/copy", Body: map[string]string{"from": "r1"}}); r.Status != http.StatusUnprocessableEntity || !hasFieldError(decodeProblem(t, r), "round") {
		t.Fatalf("unknown round: %d %s", r.Status, r.Body)
	}
}
