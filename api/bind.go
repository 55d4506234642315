package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v5"
)

// bindJSON decodes the request body into dst strictly (the right content type, one JSON value,
// no unknown fields, the right types) and then validates its `validate` tags. Every failure
// names the offending field.
func bindJSON(c *echo.Context, dst any) error {
	req := c.Request()
	if err := requireJSON(req); err != nil {
		return err
	}
	// The body is read whole (it is bounded by the route's limit, and the decoder would buffer it
	// anyway) so that invalid UTF-8 is refused rather than silently replaced by U+FFFD.
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return newProblem(kindMalformed, "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		return newProblem(kindMalformed, "the body must hold exactly one JSON value")
	}
	if fields := controlCharacters(reflect.ValueOf(dst), ""); len(fields) > 0 {
		return invalid("text fields may not hold control characters", fields...)
	}
	return validateStruct(dst)
}

// singleLine names the fields of codes, names and addresses, where even tab and line breaks
// are refused; free text elsewhere (comments, explanations, definitions) may hold them.
var singleLine = map[string]bool{
	"id": true, "code": true, "email": true, "url": true, "title": true, "name": true, "display_name": true,
	"option": true, "country": true, "indicator": true, "round": true, "status": true, "group": true,
	"reference": true, "language": true, "kind": true, "role": true, "version": true, "previous": true,
	"questionnaire": true, "questionnaire_version": true, "date": true, "accessed": true, "token": true,
	"refresh_token": true,
}

// controlCharacters lists the string fields of v (a decoded request body) that hold a control
// character: C0 (NUL, ESC, ...), DEL or C1, and Unicode's line and paragraph separators. Such
// characters have no place in survey text and break exports, logs and terminals; a NUL also
// truncates strings in C tools reading the store.
func controlCharacters(v reflect.Value, path string) []FieldError {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return controlCharacters(v.Elem(), path)
	case reflect.String:
		name := path
		if i := strings.LastIndexAny(name, ".]"); i >= 0 && name[i] == '.' {
			name = name[i+1:]
		}
		if r, ok := badRune(v.String(), !singleLine[name]); ok {
			return []FieldError{{Field: path, Reason: fmt.Sprintf("holds the control character %U; remove it", r)}}
		}
	case reflect.Struct:
		var out []FieldError
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			out = append(out, controlCharacters(v.Field(i), join(path, name))...)
		}
		return out
	case reflect.Slice, reflect.Array:
		var out []FieldError
		for i := range v.Len() {
			out = append(out, controlCharacters(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	case reflect.Map:
		var out []FieldError
		iter := v.MapRange()
		for iter.Next() {
			k := fmt.Sprint(iter.Key().Interface())
			if r, ok := badRune(k, false); ok {
				out = append(out, FieldError{Field: path, Reason: fmt.Sprintf("a key holds the control character %U", r)})
				continue
			}
			out = append(out, controlCharacters(iter.Value(), join(path, k))...)
		}
		return out
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// badRune returns the first control character of s; tab, line feed and carriage return pass
// in multiline text.
func badRune(s string, multiline bool) (rune, bool) {
	for _, r := range s {
		switch {
		case multiline && (r == '\t' || r == '\n' || r == '\r'):
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029:
			return r, true
		}
	}
	return 0, false
}

func requireJSON(req *http.Request) error {
	ct := req.Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return newProblem(kindMediaType, fmt.Sprintf("send the body as application/json (got %q)", ct),
			FieldError{Field: "Content-Type", Reason: "must be application/json"})
	}
	return nil
}

// decodeProblem explains a decoding failure in terms of the request, not of Go.
func decodeProblem(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return err
	case errors.Is(err, io.EOF):
		return newProblem(kindMalformed, "the body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newProblem(kindMalformed, "the JSON body ends too early")
	case errors.As(err, &syntaxErr):
		return newProblem(kindMalformed, fmt.Sprintf("malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error()))
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		if k := typeErr.Type.Kind(); strings.HasPrefix(typeErr.Value, "number ") && k >= reflect.Int && k <= reflect.Float64 {
			// A number that does not fit the field: 1e400 overflows a float64, 1.5 or 1e20 an
			// integer. Say so, rather than "must be a number, not number 1e400".
			n := strings.TrimPrefix(typeErr.Value, "number ")
			reason := n + " is out of range: numbers must lie between -1.7976931348623157e308 and 1.7976931348623157e308"
			if k != reflect.Float32 && k != reflect.Float64 {
				reason = n + " is not a whole number in range"
			}
			return invalid("a number is out of range", FieldError{Field: field, Reason: reason})
		}
		return invalid("a field has the wrong type",
			FieldError{Field: field, Reason: fmt.Sprintf("must be %s, not %s", jsonTypeName(typeErr.Type), typeErr.Value)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("the body has a field this endpoint does not know",
			FieldError{Field: name, Reason: "unknown field"})
	default:
		return newProblem(kindMalformed, err.Error())
	}
}

func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// structValidator names fields by their JSON names so that errors point into the body.
func structValidator() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
	})
	return validate
}

func validateStruct(v any) error {
	err := structValidator().Struct(v)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, FieldError{Field: fieldPath(fe.Namespace()), Reason: reasonFor(fe)})
	}
	return invalid(fmt.Sprintf("%d field(s) are invalid", len(fields)), fields...)
}

// fieldPath drops the Go type name that starts a validator namespace.
func fieldPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func reasonFor(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be an email address"
	case "min":
		if fe.Kind() == reflect.String {
			return "must be at least " + fe.Param() + " characters long"
		}
		return "must be at least " + fe.Param()
	case "max":
		if fe.Kind() == reflect.String {
			return "must be at most " + fe.Param() + " characters long"
		}
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of: " + strings.ReplaceAll(fe.Param(), " ", ", ")
	case "url", "http_url":
		return "must be an absolute http(s) URL"
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "dive":
		return "has an invalid element"
	default:
		return "fails the " + fe.Tag() + " rule"
	}
}

// plainQuery gives query strings the hygiene of bodies: a parameter is a plain name (letters,
// digits, _ and -) with a value of valid UTF-8 free of control characters. Names such as
// `limit[$ne]` or `$where` are the syntax of operator injection in other frameworks; here they
// would be ignored as unknown, silently changing what a request means (`format[$ne]=x` served
// the default format), so they are refused with 400 naming the parameter.
func plainQuery(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		raw := c.Request().URL.RawQuery
		if raw == "" {
			return next(c)
		}
		q, err := url.ParseQuery(raw)
		if err != nil {
			return invalid("the query string is malformed", FieldError{Field: "(query)", Reason: "must be name=value pairs, percent-encoded"})
		}
		var fields []FieldError
		for _, name := range slices.Sorted(maps.Keys(q)) {
			if !plainName(name) {
				fields = append(fields, FieldError{Field: name, Reason: "unknown query parameter; names are letters, digits, _ and -"})
				continue
			}
			for _, v := range q[name] {
				if !utf8.ValidString(v) {
					fields = append(fields, FieldError{Field: name, Reason: "must be valid UTF-8"})
				} else if r, bad := badRune(v, false); bad {
					fields = append(fields, FieldError{Field: name, Reason: fmt.Sprintf("holds the control character %U; remove it", r)})
				}
			}
		}
		if len(fields) > 0 {
			return invalid("a query parameter is invalid", fields...)
		}
		return next(c)
	}
}

func plainName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
