package questionnaire

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDefinitionRoundTrip(t *testing.T) {
	example := loadExample(t)
	for _, format := range []string{FormatYAML, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			var first bytes.Buffer
			if err := EncodeDefinition(&first, example, format); err != nil {
				t.Fatal(err)
			}
			decoded, err := DecodeDefinition(bytes.NewReader(first.Bytes()), format)
			if err != nil {
				t.Fatalf("decoding our own encoding: %v\n%s", err, first.String())
			}
			if diff := cmp.Diff(example, decoded, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decode(encode(d)) differs (-want +got):\n%s", diff)
			}
			var second bytes.Buffer
			if err := EncodeDefinition(&second, decoded, format); err != nil {
				t.Fatal(err)
			}
			if first.String() != second.String() {
				t.Error("encoding is not stable across a round trip")
			}
		})
	}
}

// TestYAMLAndJSONAgree checks that both formats carry the same fields:
// the YAML example, re-encoded as JSON and decoded, is the same definition.
func TestYAMLAndJSONAgree(t *testing.T) {
	example := loadExample(t)
	var js bytes.Buffer
	if err := EncodeDefinition(&js, example, FormatJSON); err != nil {
		t.Fatal(err)
	}
	encoded := js.String()
	fromJSON, err := DecodeDefinition(&js, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(example, fromJSON, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("(-yaml +json):\n%s", diff)
	}
	if !strings.Contains(encoded, `"default_language": "en"`) || !strings.Contains(encoded, `"source_required": true`) {
		t.Errorf("JSON field names are not snake_case:\n%.400s", encoded)
	}
}

func TestDecodeLookupKeysAsNumbers(t *testing.T) {
	const doc = `{"code":"x","title":{"en":"x"},"default_language":"en","tree":[{"group":{"code":"L","title":{"en":"L"},
"aggregation":"lookup","lookup":{"by":"score","rows":[{"when":[100,"*"],"score":100}],"default":0},
"children":[{"indicator":{"code":"A","title":{"en":"A"},"question":{"en":"A"},"type":"yes_no"}},
{"indicator":{"code":"B","title":{"en":"B"},"question":{"en":"B"},"type":"yes_no"}}]}}]}`
	d, err := DecodeDefinition(strings.NewReader(doc), FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Tree[0].Group.Lookup.Rows[0].When; !cmp.Equal(got, []LookupKey{"100", "*"}) {
		t.Errorf("when = %q", got)
	}
	if ps := d.Validate(); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	yml := "code: x\ntitle: {en: x}\ndefault_language: en\ntree:\n  - group:\n      code: L\n      title: {en: L}\n      aggregation: lookup\n      lookup:\n        by: score\n        rows: [{when: [100, 0], score: 50}]\n        default: 0\n      children: []\n"
	d, err = DecodeDefinition(strings.NewReader(yml), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Tree[0].Group.Lookup.Rows[0].When; !cmp.Equal(got, []LookupKey{"100", "0"}) {
		t.Errorf("yaml when = %q", got)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, format, doc, want string
	}{
		{"unknown yaml field", FormatYAML, "code: x\ntitle: {en: x}\ndefault_language: en\ncolour: red\ntree: []\n", "line 4: field colour not found"},
		{"unknown nested yaml field", FormatYAML, "code: x\ntree:\n  - group:\n      code: G\n      weight: 1\n", "line 5: field weight not found"},
		{"broken yaml", FormatYAML, "code: x\ntree:\n  - group: {code: G\n", "yaml: line "},
		{"two yaml documents", FormatYAML, "code: x\n---\ncode: y\n", "one YAML document"},
		{"unknown json field", FormatJSON, "{\n  \"code\": \"x\",\n  \"colour\": \"red\"\n}", `unknown field "colour"`},
		{"broken json", FormatJSON, "{\n  \"code\": \"x\",\n  \"tree\": [\n}", "line 4, column 1"},
		{"truncated json", FormatJSON, "{\n  \"code\": \"x\",", "line 2"},
		{"wrong json type", FormatJSON, "{\n  \"code\": 7\n}", "line 2"},
		{"trailing json", FormatJSON, "{\"code\": \"x\"}\n{}", "after the definition"},
		{"empty", FormatJSON, "  \n", "empty file"},
		{"unknown format", "toml", "code = 1", `unknown format "toml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDefinition(strings.NewReader(tt.doc), tt.format)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEncodeUnknownFormat(t *testing.T) {
	err := EncodeDefinition(&bytes.Buffer{}, loadExample(t), "xml")
	if !errors.Is(err, ErrFormat) {
		t.Errorf("got %v, want ErrFormat", err)
	}
}

// TestFormatDocExampleDecodes keeps the example of the format reference
// honest: it must decode and validate.
func TestFormatDocExampleDecodes(t *testing.T) {
	raw, err := os.ReadFile("../docs/questionnaire-format.md")
	if err != nil {
		t.Skip("format reference not found:", err)
	}
	_, rest, ok := strings.Cut(string(raw), "```yaml\n")
	if !ok {
		t.Fatal("no yaml example in docs/questionnaire-format.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	d, err := DecodeDefinition(strings.NewReader(example), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if ps := d.Validate(); len(ps) != 0 {
		t.Fatalf("the documented example is invalid:\n%s", problemList(ps))
	}
}

func FuzzDecodeDefinition(f *testing.F) {
	example, err := os.ReadFile("testdata/mini_index.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example, true)
	f.Add([]byte(`{"code":"x","tree":[{"group":{"code":"G","children":[]}}]}`), false)
	f.Fuzz(func(t *testing.T, data []byte, yaml bool) {
		format := FormatJSON
		if yaml {
			format = FormatYAML
		}
		d, err := DecodeDefinition(bytes.NewReader(data), format)
		if err != nil {
			return
		}
		_ = d.Validate()
		_ = Diff(d, d)
		if c, err := d.Compile(); err == nil {
			checkResult(t, c, c.Score(nil, nil))
		}
	})
}
