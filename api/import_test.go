package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/expertsurvey/expertsurvey/api/apitest"
	"github.com/expertsurvey/expertsurvey/auth"
)

// spyBody is an upload that counts the bytes read from it.
type spyBody struct {
	r    io.Reader
	read int
}

func (s *spyBody) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += n
	return n, err
}

// TestImportIsAuthorizedBeforeTheBodyIsRead sends an answer import as users without the right
// to import into the round: each is refused with 403 and not one byte of the upload is read.
func TestImportIsAuthorizedBeforeTheBodyIsRead(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	openRound(t, env, "r2", "")
	expert, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleExpert, Round: "r1", Country: "AT"})
	nobody, _ := env.As(auth.RoleNone)
	otherCoord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r2"})
	for name, c := range map[string]*apitest.Client{"expert": expert, "unassigned": nobody, "coordinator of another round": otherCoord} {
		body := &spyBody{r: strings.NewReader("country,indicator\n" + strings.Repeat("AT,LMM_1\n", 10000))}
		req := httptest.NewRequest(http.MethodPost, "/v1/rounds/r1/answers/import", body)
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+c.Token)
		rec := httptest.NewRecorder()
		env.App.Server.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || body.read != 0 {
			t.Errorf("%s: %d after reading %d bytes of the upload; want 403 after none", name, rec.Code, body.read)
		}
		// The same refusal through the contract-checking client.
		r := c.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", Body: "country,indicator\n", ContentType: "text/csv"})
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: %d", name, r.Status)
		}
	}
}

// endlessRows is a CSV body of n bytes of well-formed rows, generated as it is read.
type endlessRows struct{ left int }

func (e *endlessRows) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	row := "AT,LMM_1,full," + strings.Repeat("y", 1000) + "\n"
	n := 0
	for n < len(p) && e.left > 0 {
		c := copy(p[n:], row[(len(row)-e.left%len(row))%len(row):])
		if c > e.left {
			c = e.left
		}
		n += c
		e.left -= c
	}
	return n, nil
}

// TestImportLimits: a chunked body over the import's 64 MiB limit gets 413 (not "not valid
// CSV"), and files that pass a cap of the importer get 422 naming where.
func TestImportLimits(t *testing.T) {
	env := apitest.New(t)
	publishMiniIndex(t, env)
	openRound(t, env, "r1", "")
	coord, _ := env.As(auth.RoleNone, auth.Assignment{Role: auth.RoleCoordinator, Round: "r1"})

	body := io.MultiReader(strings.NewReader("country,indicator,option,comment\n"), &endlessRows{left: 65 << 20})
	req := httptest.NewRequest(http.MethodPost, "/v1/rounds/r1/answers/import", body)
	req.ContentLength = -1 // chunked: the size is known only by reading
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+coord.Token)
	rec := httptest.NewRecorder()
	env.App.Server.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "limit") {
		t.Fatalf("65 MiB chunked upload: %d %.300s; want 413", rec.Code, rec.Body.String())
	}

	for _, tc := range []struct{ name, body, field string }{
		{"a line of 3 MiB of commas", strings.Repeat(",", 3<<20), "line 1"},
		{"a row of 100 cells", "country,indicator\n" + strings.Repeat(",", 100) + "\n", "row 2"},
	} {
		r := coord.Do(apitest.Request{Method: "POST", Path: "/v1/rounds/r1/answers/import", Body: tc.body, ContentType: "text/csv"})
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %.300s; want 422 naming %q", tc.name, r.Status, r.Body, tc.field)
		}
	}
}
