// Package version says which build is running, for every tool's --version
// and warmupd's /v1/health. The Makefile stamps Version with
//
//	-ldflags "-X github.com/accel-data/accel-data/internal/version.Version=$(git describe --always --dirty)"
//
// and a plain `go build` falls back to the VCS revision Go records in the
// binary.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at link time by the Makefile; empty in a plain `go build`.
var Version string

// String returns the build's version: Version when stamped, else the
// recorded VCS revision (12 hex digits, "-dirty" when the tree had
// uncommitted changes), else the module version, else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	return fromBuildInfo(debug.ReadBuildInfo())
}

func fromBuildInfo(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "devel"
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// Line is what --version prints: the program, the version and the Go
// release it was built with, e.g. "warmupd v0.3-4-g1a2b3c4 (go1.26.8)".
func Line(prog string) string {
	return prog + " " + String() + " (" + runtime.Version() + ")"
}
