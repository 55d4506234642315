package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v5"

	"github.com/expertsurvey/expertsurvey"
)

//go:embed docs.html.tmpl
var docsTemplate string

// apiDocs is the rendered /docs page: the spec turned into HTML once, at start-up, by the
// server itself, so the page needs no script, no CDN and no asset but this one.
type apiDocs struct {
	page []byte
}

type docsOperation struct {
	Method, Path, Summary, Description, Anchor string
	Params                                     []docsParam
	Body                                       string
	Responses                                  []docsResponse
	Secured                                    bool
}

type docsParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type docsResponse struct{ Status, Description, Schema string }

type docsTag struct {
	Name, Description string
	Operations        []docsOperation
}

func loadDocs() (*apiDocs, error) {
	spec, err := openapi3.NewLoader().LoadFromData(expertsurvey.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	tags := map[string]*docsTag{}
	var order []string
	for _, t := range spec.Tags {
		tags[t.Name] = &docsTag{Name: t.Name, Description: t.Description}
		order = append(order, t.Name)
	}
	paths := spec.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		item := spec.Paths.Value(p)
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if tags[tag] == nil {
				tags[tag] = &docsTag{Name: tag}
				order = append(order, tag)
			}
			tags[tag].Operations = append(tags[tag].Operations, describeOperation(spec, method, p, item, op))
		}
	}
	view := struct {
		Title, Version, Description string
		Tags                        []*docsTag
	}{Title: spec.Info.Title, Version: spec.Info.Version, Description: spec.Info.Description}
	for _, name := range order {
		if len(tags[name].Operations) > 0 {
			view.Tags = append(view.Tags, tags[name])
		}
	}
	tmpl, err := template.New("docs").Parse(docsTemplate)
	if err != nil {
		return nil, fmt.Errorf("docs template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, view); err != nil {
		return nil, fmt.Errorf("docs template: %w", err)
	}
	return &apiDocs{page: buf.Bytes()}, nil
}

func describeOperation(spec *openapi3.T, method, path string, item *openapi3.PathItem, op *openapi3.Operation) docsOperation {
	d := docsOperation{
		Method: method, Path: path, Summary: op.Summary, Description: op.Description,
		Anchor:  strings.ToLower(method) + strings.NewReplacer("/", "-", "{", "", "}", "").Replace(path),
		Secured: op.Security == nil && len(spec.Security) > 0 || op.Security != nil && len(*op.Security) > 0,
	}
	for _, pr := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
		if pr.Value == nil {
			continue
		}
		d.Params = append(d.Params, docsParam{
			Name: pr.Value.Name, In: pr.Value.In, Required: pr.Value.Required,
			Description: pr.Value.Description, Type: schemaSummary(pr.Value.Schema, 0),
		})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		for ct, mt := range op.RequestBody.Value.Content {
			d.Body = ct + "\n" + schemaSummary(mt.Schema, 0)
			break
		}
	}
	codes := op.Responses.Map()
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := codes[k]
		if r.Value == nil {
			continue
		}
		resp := docsResponse{Status: k}
		if r.Value.Description != nil {
			resp.Description = *r.Value.Description
		}
		for ct, mt := range r.Value.Content {
			resp.Schema = ct + "\n" + schemaSummary(mt.Schema, 0)
			break
		}
		d.Responses = append(d.Responses, resp)
	}
	return d
}

// schemaSummary renders a schema as an indented outline, deep enough to read a body's shape.
func schemaSummary(ref *openapi3.SchemaRef, depth int) string {
	if ref == nil || ref.Value == nil {
		return ""
	}
	s := ref.Value
	name := ""
	if ref.Ref != "" {
		name = ref.Ref[strings.LastIndex(ref.Ref, "/")+1:] + " "
	}
	typ := ""
	if s.Type != nil && len(*s.Type) > 0 {
		typ = (*s.Type)[0]
	}
	if depth > 3 {
		return name + typ
	}
	switch {
	case typ == "array":
		return name + "array of " + schemaSummary(s.Items, depth+1)
	case len(s.Properties) > 0:
		var b strings.Builder
		b.WriteString(name + "object {\n")
		props := make([]string, 0, len(s.Properties))
		for k := range s.Properties {
			props = append(props, k)
		}
		sort.Strings(props)
		required := map[string]bool{}
		for _, r := range s.Required {
			required[r] = true
		}
		for _, k := range props {
			mark := ""
			if required[k] {
				mark = " (required)"
			}
			fmt.Fprintf(&b, "%s  %s%s: %s\n", strings.Repeat("  ", depth), k, mark, schemaSummary(s.Properties[k], depth+1))
		}
		b.WriteString(strings.Repeat("  ", depth) + "}")
		return b.String()
	case len(s.Enum) > 0:
		vals := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			vals[i] = fmt.Sprint(v)
		}
		return name + typ + " (" + strings.Join(vals, " | ") + ")"
	default:
		if s.Format != "" {
			typ += " (" + s.Format + ")"
		}
		return name + typ
	}
}

// handleSpec serves the contract the tests validate against.
func (s *Server) handleSpec(c *echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", expertsurvey.OpenAPI)
}

// handleDocs serves the readable API reference.
func (s *Server) handleDocs(c *echo.Context) error {
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	return c.HTMLBlob(http.StatusOK, s.docs.page)
}
