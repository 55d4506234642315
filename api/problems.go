package api

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v5"
)

// problemPage is the page served at a problem type's URI, so that the `type` of an error body
// leads a developer to what it means.
var problemPage = template.Must(template.New("problem").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} ({{.Status}}) - expertsurvey</title></head>
<body>
<h1>{{.Title}}</h1>
<p>HTTP status <strong>{{.Status}}</strong>, problem type <code>{{.URI}}</code>.</p>
<p>{{.Meaning}}</p>
<p>Every error of the service is an RFC 9457 problem (<code>application/problem+json</code>);
<a href="/docs">the API reference</a> lists the problem types each operation answers with.</p>
</body>
</html>
`))

// problemIndex lists every problem type: GET /problems.
var problemIndex = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Problem types - expertsurvey</title></head>
<body>
<h1>Problem types</h1>
<p>Every error of the service is an RFC 9457 problem (<code>application/problem+json</code>) whose
<code>type</code> is one of these.</p>
<table>
<tr><th>type</th><th>status</th><th>title</th><th>meaning</th></tr>
{{range .}}<tr><td><a href="{{.URI}}"><code>{{.URI}}</code></a></td><td>{{.Status}}</td><td>{{.Title}}</td><td>{{.Meaning}}</td></tr>
{{end}}</table>
</body>
</html>
`))

// problemView is a registered problem type as the pages show it.
type problemView struct {
	Title, URI, Meaning string
	Status              int
}

func (k problemKind) view() problemView {
	return problemView{Title: k.title, URI: k.typeURI(), Meaning: k.meaning, Status: k.status}
}

// handleProblemTypes serves GET /problems: the registry as a page.
func (s *Server) handleProblemTypes(c *echo.Context) error {
	views := make([]problemView, len(problemKinds))
	for i, k := range problemKinds {
		views[i] = k.view()
	}
	var b bytes.Buffer
	if err := problemIndex.Execute(&b, views); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}

// handleProblemType serves GET /problems/{type}: the page of a registered problem type.
func (s *Server) handleProblemType(c *echo.Context) error {
	slug := c.Param("type")
	for _, k := range problemKinds {
		if k.slug != slug {
			continue
		}
		var b bytes.Buffer
		if err := problemPage.Execute(&b, k.view()); err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, b.Bytes())
	}
	return newProblem(kindNotFound, "no problem type "+slug+"; GET /problems lists them")
}
