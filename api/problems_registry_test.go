package api

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/expertsurvey/expertsurvey"
)

// TestProblemRegistry holds the registry of problem types, the error table, the contract and
// docs/problems.md together: every kind declared in the package is registered, every row of the
// table answers with a registered kind, and the contract's ProblemType enum and the docs page
// list exactly the registered types with their status, title and meaning.
func TestProblemRegistry(t *testing.T) {
	registered := map[string]problemKind{}
	for _, k := range problemKinds {
		if prev, dup := registered[k.slug]; dup {
			t.Errorf("%s registered twice (%q and %q)", k.slug, prev.title, k.title)
		}
		if k.meaning == "" {
			t.Errorf("%s has no meaning", k.slug)
		}
		registered[k.slug] = k
	}
	for _, row := range slices.Concat(sentinelKinds, fallbackKinds) {
		if registered[row.kind.slug] != row.kind {
			t.Errorf("%v answers %s, which is not the registered kind", row.err, row.kind.slug)
		}
	}
	for _, name := range declaredKinds(t) {
		found := false
		for _, k := range problemKinds {
			found = found || k.slug == name
		}
		if !found {
			t.Errorf("problem kind %q is declared but not in problemKinds", name)
		}
	}

	var spec struct {
		Components struct {
			Schemas struct {
				ProblemType struct {
					Description string   `yaml:"description"`
					Enum        []string `yaml:"enum"`
				} `yaml:"ProblemType"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(expertsurvey.OpenAPI, &spec); err != nil {
		t.Fatal(err)
	}
	pt := spec.Components.Schemas.ProblemType
	var want []string
	for _, k := range problemKinds {
		want = append(want, k.typeURI())
	}
	got := slices.DeleteFunc(slices.Clone(pt.Enum), func(s string) bool { return s == "about:blank" })
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("openapi.yaml ProblemType enum lists %v; the registry has %v", got, want)
	}
	docs, err := os.ReadFile("../docs/problems.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range problemKinds {
		row := fmt.Sprintf("| `%s` | %d | %s | %s |", k.typeURI(), k.status, k.title, k.meaning)
		if !strings.Contains(pt.Description, row) {
			t.Errorf("openapi.yaml ProblemType's table lacks the row\n%s", row)
		}
		if !strings.Contains(string(docs), row) {
			t.Errorf("docs/problems.md lacks the row\n%s", row)
		}
	}
}

// declaredKinds returns the slug of every problemKind literal in the package's sources, so that
// a kind declared beside its handlers cannot escape the registry.
func declaredKinds(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "problemKind" || len(lit.Elts) < 2 {
				return true
			}
			if s, ok := lit.Elts[1].(*ast.BasicLit); ok && s.Kind == token.STRING {
				slugs = append(slugs, strings.Trim(s.Value, `"`))
			}
			return true
		})
	}
	return slugs
}
