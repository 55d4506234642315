package questionnaire

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// Builders shared by the tests of this package: short enough that a test
// table shows the tree it scores.

func ptr[T any](v T) *T { return &v }

func en(s string) Text { return Text{"en": s} }

// scale3 is the common 100/50/0 indicator with options full, partial, none.
func scale3(code string) Node {
	return choice(code, opt("full", 100), opt("partial", 50), opt("none", 0))
}

func opt(code string, score float64) Option {
	return Option{Code: code, Label: en(code), Score: &score}
}

func choice(code string, opts ...Option) Node {
	return Node{Indicator: &Indicator{Code: code, Title: en(code), Question: en(code + "?"), Type: SingleChoice, Options: opts}}
}

func yesNo(code string) Node {
	return Node{Indicator: &Indicator{Code: code, Title: en(code), Question: en(code + "?"), Type: YesNo}}
}

func group(code string, r Rule, children ...Node) Node {
	return Node{Group: &Group{Code: code, Title: en(code), Rule: r, Children: children}}
}

func definition(tree ...Node) *Definition {
	return &Definition{Code: "test", Title: en("Test"), DefaultLanguage: "en", Tree: tree}
}

func ans(code, option string) Answer { return Answer{Indicator: code, Option: option} }

func num(code string, v float64) Answer { return Answer{Indicator: code, Number: &v} }

func notApplicable(code string) Answer { return Answer{Indicator: code, NotApplicable: true} }

func mustCompile(t testing.TB, d *Definition) *Compiled {
	t.Helper()
	c, err := d.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func loadExample(t testing.TB) *Definition {
	t.Helper()
	f, err := os.Open("testdata/mini_index.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := DecodeDefinition(f, FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTextIn(t *testing.T) {
	text := Text{"en": "Access", "fr": "Accès", "pt": "Acesso"}
	tests := []struct {
		lang, def, want string
	}{
		{"fr", "en", "Accès"},
		{"de", "en", "Access"},
		{"pt-BR", "en", "Acesso"},
		{"", "en", "Access"},
		{"de", "xx", ""},
	}
	for _, tt := range tests {
		if got := text.In(tt.lang, tt.def); got != tt.want {
			t.Errorf("In(%q, %q) = %q, want %q", tt.lang, tt.def, got, tt.want)
		}
	}
	if got := (Text{"en": "x", "fr": ""}).In("fr", "en"); got != "x" {
		t.Errorf("empty translation: got %q, want the default", got)
	}
}

func TestValidationErrorIsErrInvalid(t *testing.T) {
	var err error = &ValidationError{Problems: []Problem{{Path: "tree", Message: "must hold at least one group"}}}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(ValidationError, ErrInvalid) = false")
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 {
		t.Errorf("errors.As: got %v", ve)
	}
	if !strings.Contains(err.Error(), "tree: must hold at least one group") {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestIsScored(t *testing.T) {
	tests := []struct {
		ind  Indicator
		want bool
	}{
		{Indicator{Type: SingleChoice}, true},
		{Indicator{Type: SingleChoice, Scored: ptr(false)}, false},
		{Indicator{Type: TextType}, false},
		{Indicator{Type: TextType, Scored: ptr(true)}, false},
	}
	for _, tt := range tests {
		if got := tt.ind.IsScored(); got != tt.want {
			t.Errorf("%+v: IsScored() = %v, want %v", tt.ind, got, tt.want)
		}
	}
}
