package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

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
