package questionnaire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Definition file formats. The two carry the same fields under the same
// snake_case names; docs/questionnaire-format.md is the reference.
const (
	FormatJSON = "json"
	FormatYAML = "yaml"
)

// maxDefinitionSize bounds what DecodeDefinition reads: a large real
// instrument (480 indicators, several languages) is a few megabytes.
const maxDefinitionSize = 64 << 20

// DecodeDefinition reads one definition in format "json" or "yaml" ("yml"
// is accepted too). Unknown fields are errors, so that a misspelt field is
// not silently ignored. Errors wrap ErrFormat and, where the parser tells,
// give the line. It does not validate: drafts may be saved half written;
// call Validate or Compile.
func DecodeDefinition(r io.Reader, format string) (*Definition, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDefinitionSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrFormat, err)
	}
	if len(data) > maxDefinitionSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxDefinitionSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrFormat)
	}
	d := new(Definition)
	switch strings.ToLower(format) {
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(d); err != nil {
			msg := jsonErrorWithLine(data, err, dec.InputOffset())
			// encoding/json stops at the first unknown field or wrong type; a file with several
			// should be fixed in one go. JSON is YAML, and the YAML decoder lists them all, by
			// line.
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) {
				if partial, all := yamlProblems(data); len(all) > 0 {
					if len(all) > 1 {
						msg += fmt.Sprintf("; the file has %d such problems: %s", len(all), strings.Join(all, "; "))
					}
					return nil, newFieldsError(msg, all, partial)
				}
			}
			return nil, fmt.Errorf("%w: %s", ErrFormat, msg)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("%w: %s: unexpected data after the definition", ErrFormat, lineCol(data, dec.InputOffset()))
		}
	case FormatYAML, "yml":
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(d); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				// The decoder went on past these and filled in the rest.
				return nil, newFieldsError(err.Error(), te.Errors, d)
			}
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); err != io.EOF {
			return nil, fmt.Errorf("%w: a definition file holds one YAML document", ErrFormat)
		}
	default:
		return nil, fmt.Errorf("%w: unknown format %q (want json or yaml)", ErrFormat, format)
	}
	return d, nil
}

// EncodeDefinition writes d in format "json" or "yaml", indented by two
// spaces. Fields at their defaults are left out.
func EncodeDefinition(w io.Writer, d *Definition, format string) error {
	switch strings.ToLower(format) {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("%w: encoding json: %w", ErrFormat, err)
		}
	case FormatYAML, "yml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return fmt.Errorf("%w: encoding yaml: %w", ErrFormat, err)
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("%w: encoding yaml: %w", ErrFormat, err)
		}
	default:
		return fmt.Errorf("%w: unknown format %q (want json or yaml)", ErrFormat, format)
	}
	return nil
}

// jsonErrorWithLine adds the line and column encoding/json leaves out: it
// reports byte offsets only.
func jsonErrorWithLine(data []byte, err error, fallback int64) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	offset := fallback
	switch {
	case errors.As(err, &syntax):
		// Offset counts the offending byte as read; point at it.
		offset = syntax.Offset - 1
	case errors.As(err, &typ):
		offset = typ.Offset
	case errors.Is(err, io.ErrUnexpectedEOF):
		offset = int64(len(data))
	}
	return lineCol(data, offset) + ": " + err.Error()
}

func lineCol(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// UnmarshalJSON accepts a lookup key written as a number, so that
// lookups by score read naturally: when: [100, 50].
func (k *LookupKey) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = LookupKey(s)
		return nil
	}
	var f json.Number
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("lookup key must be a string or a number: %w", err)
	}
	if _, err := strconv.ParseFloat(string(f), 64); err != nil {
		return fmt.Errorf("lookup key must be a string or a number: %w", err)
	}
	*k = LookupKey(f)
	return nil
}

// yamlProblems decodes data as YAML with unknown fields refused and returns every problem the
// decoder lists (unknown fields, wrong types), each with its line, and what it decoded past them.
func yamlProblems(data []byte) (*Definition, []string) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	d := new(Definition)
	var te *yaml.TypeError
	if err := dec.Decode(d); errors.As(err, &te) {
		return d, te.Errors
	}
	return nil, nil
}

// FieldsError is a definition file that parses but has fields its format refuses: unknown
// fields and values of the wrong type, every one with its line. Partial is everything else the
// file says, so that an import can report the file's other problems (those Validate finds) in
// the same answer rather than after the first ones are fixed. It wraps ErrFormat.
type FieldsError struct {
	Problems []Problem
	Partial  *Definition
	msg      string
}

func (e *FieldsError) Error() string { return ErrFormat.Error() + ": " + e.msg }

// Unwrap makes errors.Is(err, ErrFormat) true.
func (e *FieldsError) Unwrap() error { return ErrFormat }

var (
	yamlUnknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	yamlWrongType    = regexp.MustCompile(`^line (\d+): cannot unmarshal !!\w+ ` + "`(.*)`" + ` into (\S+)$`)
)

// newFieldsError turns the YAML decoder's messages, written for Go programmers, into problems
// for the author of the file: the line, and what is wrong in the format's own words.
func newFieldsError(msg string, decoderErrors []string, partial *Definition) *FieldsError {
	e := &FieldsError{Partial: partial, msg: msg}
	for _, de := range decoderErrors {
		if m := yamlUnknownField.FindStringSubmatch(de); m != nil {
			e.Problems = append(e.Problems, Problem{Path: "line " + m[1], Message: fmt.Sprintf("unknown field %q", m[2])})
		} else if m := yamlWrongType.FindStringSubmatch(de); m != nil {
			e.Problems = append(e.Problems, Problem{Path: "line " + m[1], Message: fmt.Sprintf("%q is not %s", m[2], expectedKind(m[3]))})
		} else {
			e.Problems = append(e.Problems, Problem{Message: de})
		}
	}
	return e
}

// expectedKind names a Go type the way the format's documentation does.
func expectedKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a text"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), goType == "questionnaire.Text":
		return "a mapping"
	default:
		return "of the expected kind"
	}
}
