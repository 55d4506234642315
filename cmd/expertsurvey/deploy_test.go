package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// The deployment files cannot run here (no container engine), so this keeps them honest in
// what can be checked: they parse, and every setting they name is one that serve reads.
func TestDeployFilesNameOnlyRealSettings(t *testing.T) {
	known := map[string]bool{}
	for _, s := range (&serveConfig{}).settings() {
		known[s.env] = true
	}
	files, err := filepath.Glob("../../deploy/*")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../../deploy/kubernetes/*.yaml")
	files = append(files, more...)
	settingRe := regexp.MustCompile(`\b(EXPERTSURVEY_[A-Z_]+|MONGODB_URI)\b`)
	seen := 0
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Ext(f) == ".yaml" {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			for {
				var doc any
				if err := dec.Decode(&doc); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Errorf("%s: %v", f, err)
					}
					break
				}
			}
		}
		for _, name := range settingRe.FindAllString(string(b), -1) {
			seen++
			if !known[name] {
				t.Errorf("%s names %s, which serve does not read", f, name)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no settings found in deploy/: wrong path?")
	}
}

// compose.yaml is valid under the Compose Specification's schema (vendored: CI has no network),
// as `docker compose config` would find it.
func TestComposeFileMatchesTheComposeSpec(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/schemas/compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		t.Fatal(err)
	}
	// Compose durations are Go durations ("40s", "1m30s").
	c.RegisterFormat(&jsonschema.Format{Name: "duration", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		_, err := time.ParseDuration(s)
		return err
	}})
	c.AssertFormat()
	schema, err := c.Compile("compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, edit string
		valid      bool
	}{
		{"deploy/compose.yaml", "", true},
		// The check has teeth: a misspelt key and a value of the wrong type fail.
		{"misspelt key", "stop_grace_period: 40s\n    restart_policy: always\n", false},
		{"wrong type", "stop_grace_period: [40s]\n", false},
	} {
		b, err := os.ReadFile("../../deploy/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if tc.edit != "" {
			text = strings.Replace(text, "stop_grace_period: 40s\n", tc.edit, 1)
		}
		var compose any
		if err := yaml.Unmarshal([]byte(text), &compose); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The validator wants JSON's types (map[string]any, float64): round-trip through JSON.
		j, err := json.Marshal(compose)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		err = schema.Validate(inst)
		if tc.valid && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.valid && err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}
