package apitest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// kin-openapi checks that a response matches what the document declares, but lets through
// what the document does not mention: a status that falls to `default`, a header nobody
// declared, a field missing from a schema that does not forbid extra ones. A client generated
// from the document would not know about any of those, so the checks below refuse them.

// genericHeaders are response headers every route may send without the document naming them:
// the transport's own (Content-Type, Content-Length, Date), content negotiation (Vary), the
// security headers set on every response by the middleware (docs/security.md) and CORS, whose
// headers belong to the browser, not to the API's contract. Anything else must be declared.
var genericHeaders = map[string]bool{
	"Content-Type":                  true,
	"Content-Length":                true,
	"Date":                          true,
	"Vary":                          true,
	"X-Content-Type-Options":        true,
	"X-Frame-Options":               true,
	"Referrer-Policy":               true,
	"Cross-Origin-Opener-Policy":    true,
	"Content-Security-Policy":       true,
	"Strict-Transport-Security":     true,
	"Access-Control-Allow-Origin":   true,
	"Access-Control-Expose-Headers": true,
}

// strictResponse returns what a response carries that the operation does not declare: a status
// without its own entry (only a 5xx may fall to `default`), a header outside genericHeaders, or
// a body field that its schema does not list.
func strictResponse(op *openapi3.Operation, status int, header http.Header, body []byte) []string {
	if op.Responses == nil {
		return []string{"the operation declares no responses"}
	}
	ref := op.Responses.Status(status)
	if ref == nil && status >= 500 {
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return []string{fmt.Sprintf("status %d is not declared (only a 5xx may fall to default)", status)}
	}
	resp := ref.Value
	var problems []string
	for name := range header {
		name = http.CanonicalHeaderKey(name)
		if genericHeaders[name] || strings.HasPrefix(name, "Access-Control-") {
			continue
		}
		if !declaresHeader(resp, name) {
			problems = append(problems, fmt.Sprintf("header %s is not declared for status %d", name, status))
		}
	}
	if len(body) == 0 {
		return sorted(problems)
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	media := resp.Content.Get(mt)
	if media == nil || media.Schema == nil || !strings.HasSuffix(mt, "json") {
		return sorted(problems)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		// A JSON body that does not parse is kin-openapi's to report.
		return sorted(problems)
	}
	for _, path := range undeclaredFields(media.Schema.Value, v, "") {
		problems = append(problems, fmt.Sprintf("body field %s is not declared", path))
	}
	return sorted(problems)
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

func declaresHeader(resp *openapi3.Response, name string) bool {
	for declared := range resp.Headers {
		if strings.EqualFold(declared, name) {
			return true
		}
	}
	return false
}

// undeclaredFields walks a JSON value beside its schema and returns the paths of object members
// that the schema does not declare. An object schema admits members beyond its properties only
// when it says so with additionalProperties (true or a schema); the document spells out
// free-form objects instead of leaving them implicit.
func undeclaredFields(s *openapi3.Schema, v any, path string) []string {
	if s == nil {
		return nil
	}
	switch val := v.(type) {
	case map[string]any:
		props, extra, open := objectShape(s, val)
		var out []string
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := join(path, k)
			switch {
			case props[k] != nil:
				for _, ps := range props[k] {
					out = append(out, undeclaredFields(ps, val[k], child)...)
				}
			case extra != nil:
				out = append(out, undeclaredFields(extra, val[k], child)...)
			case !open:
				out = append(out, child)
			}
		}
		return slices.Compact(out)
	case []any:
		items := arrayItems(s)
		var out []string
		for i, item := range val {
			for _, is := range items {
				out = append(out, undeclaredFields(is, item, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
		return slices.Compact(out)
	}
	return nil
}

// objectShape gathers the properties an object may have under s: its own, those of every allOf
// member, and those of the oneOf/anyOf member that applies (chosen by the discriminator when
// there is one, otherwise every member's). extra is the schema of additional members, open
// whether any member is allowed.
func objectShape(s *openapi3.Schema, val map[string]any) (props map[string][]*openapi3.Schema, extra *openapi3.Schema, open bool) {
	props = map[string][]*openapi3.Schema{}
	var visit func(*openapi3.Schema)
	visit = func(s *openapi3.Schema) {
		if s == nil {
			return
		}
		for name, p := range s.Properties {
			if p != nil && p.Value != nil {
				props[name] = append(props[name], p.Value)
			}
		}
		if ap := s.AdditionalProperties; ap.Schema != nil && ap.Schema.Value != nil {
			extra = ap.Schema.Value
		} else if ap.Has != nil && *ap.Has {
			open = true
		}
		for _, m := range s.AllOf {
			visit(m.Value)
		}
		for _, m := range chosenVariants(s, val) {
			visit(m)
		}
	}
	visit(s)
	return props, extra, open
}

// chosenVariants returns the oneOf/anyOf members that describe val.
func chosenVariants(s *openapi3.Schema, val map[string]any) []*openapi3.Schema {
	variants := append(append([]*openapi3.SchemaRef{}, s.OneOf...), s.AnyOf...)
	if len(variants) == 0 {
		return nil
	}
	if d := s.Discriminator; d != nil {
		if tag, ok := val[d.PropertyName].(string); ok {
			if target, ok := d.Mapping[tag]; ok {
				for _, v := range variants {
					if v.Ref == target.Ref {
						return []*openapi3.Schema{v.Value}
					}
				}
			}
			for _, v := range variants {
				if strings.HasSuffix(v.Ref, "/"+tag) {
					return []*openapi3.Schema{v.Value}
				}
			}
		}
	}
	// Without a discriminator, the members that accept the value; all of them if none does
	// (kin-openapi reports that case itself).
	var out []*openapi3.Schema
	for _, v := range variants {
		if v.Value != nil && v.Value.VisitJSON(val) == nil {
			out = append(out, v.Value)
		}
	}
	if len(out) == 0 {
		for _, v := range variants {
			out = append(out, v.Value)
		}
	}
	return out
}

func arrayItems(s *openapi3.Schema) []*openapi3.Schema {
	var out []*openapi3.Schema
	if s.Items != nil && s.Items.Value != nil {
		out = append(out, s.Items.Value)
	}
	for _, m := range s.AllOf {
		if m.Value != nil {
			out = append(out, arrayItems(m.Value)...)
		}
	}
	for _, m := range append(append([]*openapi3.SchemaRef{}, s.OneOf...), s.AnyOf...) {
		if m.Value != nil {
			out = append(out, arrayItems(m.Value)...)
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
