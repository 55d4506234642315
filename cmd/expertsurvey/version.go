package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time by release builds:
//
//	go build -ldflags "-X main.version=v1.2.0" ./cmd/expertsurvey
//
// Without it, the version comes from the module's build information: the module version for
// `go install ...@v1.2.0`, or the VCS revision (with "-dirty" for uncommitted changes) for a
// build in a checkout.
var version = ""

// buildVersion is the version this binary reports in `version`, /livez and build_info.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	return "devel-" + rev + dirty
}

func versionCmd(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "expertsurvey %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
