// Command fakejuicefs is THE JUICEFS STAND-IN: a test double, only built for
// tests. It answers the subset of the `juicefs` command line that pkg/jfs
// uses (warmup [-f FILE] [-p N] [-b] [--check|--evict] PATH…, clone [-p],
// info --raw, --version) over a plain directory tree acting as the mount,
// and writes real block files into a cache directory with JuiceFS's naming.
// `fakejuicefs format MOUNTDIR --cache-dir DIR` (stand-in only) turns a
// directory into a stand-in mount by writing MOUNTDIR/.config (same JSON
// shape as a real mount's) and private state under MOUNTDIR/.fakejuicefs/:
// settings and an SQLite metadata database (meta.go), one row per file, so
// a command touches only the files it names, as a real client's metadata
// engine does.
//
// Nothing it prints is hard-coded: sizes, counts and cached fractions are
// computed from the files and from the block files really present. Reads
// during warm-up are throttled (default 100 MiB/s; FAKEJUICEFS_BANDWIDTH or
// format --bandwidth, in MiB/s, 0 = unlimited) so warm-ups take real time.
//
// Production code must never know about it: it is "the juicefs binary at
// this path" like any other.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const version = "1.3.0+fakejuicefs"

const usage = `fakejuicefs — THE JUICEFS STAND-IN (a test double, only built for tests; not JuiceFS)

It mimics the parts of the juicefs CLI that accel-data uses, over a plain
directory acting as the mount. Output lines are formatted like a real client's.

USAGE
  fakejuicefs format MOUNTDIR --cache-dir DIR[:DIR…] [--bandwidth MiB/s] [--block-size 4M] [--name NAME] [--hash-prefix]
      (stand-in only) make MOUNTDIR a stand-in mount: writes MOUNTDIR/.config and MOUNTDIR/.fakejuicefs/
  fakejuicefs mount MOUNTDIR
      (stand-in only) remount: a new "mount process" that did not write the blocks already cached
  fakejuicefs warmup [-f LISTFILE] [-p THREADS] [-b] [--check | --evict] PATH…
      --evict removes only the blocks this mount wrote since it was mounted (as a real
      1.4 client does); it prints the same summary either way
  fakejuicefs clone [-p] SRC DST
  fakejuicefs info --raw PATH…
  fakejuicefs config META-URL --changelog[=false]
  fakejuicefs changelog [--from VER] [--follow=BOOL] META-URL
      the metadata changelog of what FUSE mounts create, remove and rename (META-URL: the
      volume directory); see changelog.go
  fakejuicefs --version

ENVIRONMENT
  FAKEJUICEFS_BANDWIDTH   read bandwidth of warm-ups in MiB/s (overrides format --bandwidth; 0 = unlimited)
  FAKEJUICEFS_FAIL_BLOCKS fraction (0..1) of blocks whose download fails, always the same ones (a
                          broken object); the warm-up still exits 0 and logs them in the mount log,
                          as the real client does, so only --check shows it
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 1
	}
	switch args[0] {
	case "--version", "-V", "version":
		fmt.Printf("juicefs version %s\n", version)
		return 0
	case "--help", "-h", "help":
		fmt.Print(usage)
		return 0
	case "format":
		return cmdFormat(args[1:])
	case "mount":
		return cmdMount(args[1:])
	case "umount":
		return cmdUmount(args[1:])
	case "warmup":
		return cmdWarmup(args[1:])
	case "clone":
		return cmdClone(args[1:])
	case "info":
		return cmdInfo(args[1:])
	case "config":
		return cmdConfig(args[1:])
	case "changelog":
		return cmdChangelog(args[1:])
	}
	fatalf("main", "main.go", 31, "No help topic for '%s'", args[0])
	return 1
}

// logLine prints a line in the real client's log format on stderr:
// 2026/11/25 00:41:01.696180 juicefs[22138] <INFO>: msg [warmup@warmup.go:309]
func logLine(level, fn, file string, line int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s juicefs[%d] <%s>: %s [%s@%s:%d]\n",
		time.Now().Format("2006/01/02 15:04:05.000000"), os.Getpid(), level,
		shown(fmt.Sprintf(format, a...)), fn, file, line)
}

// shown writes the paths in msg as the user gave them: a path the CLI
// mapped into a FUSE mount's backing directory (backingPath) goes back
// under the mount point.
func shown(msg string) string {
	for m, b := range backings {
		for _, end := range []string{"/", ":", " ", `"`, "\n"} {
			msg = strings.ReplaceAll(msg, b+end, m+end)
		}
		if strings.HasSuffix(msg, b) {
			msg = strings.TrimSuffix(msg, b) + m
		}
	}
	return msg
}

func infof(fn, file string, line int, format string, a ...any) {
	logLine("INFO", fn, file, line, format, a...)
}

func errorf(fn, file string, line int, format string, a ...any) {
	logLine("ERROR", fn, file, line, format, a...)
}

func warnf(fn, file string, line int, format string, a ...any) {
	logLine("WARNING", fn, file, line, format, a...)
}

// fatalf prints a FATAL line and exits 1, as the real client's logger.Fatalf.
func fatalf(fn, file string, line int, format string, a ...any) {
	logLine("FATAL", fn, file, line, format, a...)
	os.Exit(1)
}

// mountLog appends a line to the stand-in mount's log (what a real mount
// would write to its --log file), e.g. errors about later missing paths.
func mountLog(mount, format string, a ...any) {
	f, err := os.OpenFile(filepath.Join(mount, stateDir, "mount.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, file, line, _ := runtime.Caller(1)
	fmt.Fprintf(f, "%s juicefs[%d] <WARNING>: %s [%s:%d]\n", time.Now().Format("2006/01/02 15:04:05.000000"),
		os.Getpid(), shown(fmt.Sprintf(format, a...)), filepath.Base(file), line)
}

// splitArgs separates flags from positional arguments so that flags may come
// after positionals (format MOUNTDIR --cache-dir DIR). valued lists the flags
// that take a value.
func splitArgs(args []string, valued map[string]bool) (flags map[string]string, pos []string, err error) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val := ""
		hasVal := false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, val, hasVal = k, v, true
		}
		if valued[name] {
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("flag needs an argument: -%s", name)
				}
				i++
				val = args[i]
			}
		} else if !hasVal {
			val = "true"
		}
		flags[name] = val
	}
	return flags, pos, nil
}

func checkFlags(flags map[string]string, known ...string) error {
	for k := range flags {
		ok := false
		for _, n := range known {
			if k == n {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("flag provided but not defined: -%s", k)
		}
	}
	return nil
}
