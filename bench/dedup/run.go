package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type result struct {
	tool, cache string
	wall        time.Duration
	rssKiB      int64
	groups      int
	files       int
	same        string
	canon       []string
	err         error
}

func dropCaches() error {
	exec.Command("sync").Run()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

func runAll(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", "", "tree made by gen")
	bin := fs.String("jfs-dedup", "", "jfs-dedup binary")
	work := fs.String("work", "", "directory for outputs (default: a temp dir)")
	only := fs.String("tools", "", "comma-separated subset of tools")
	repeat := fs.Int("repeat", 3, "warm runs per tool; the fastest is kept (the machine may be shared)")
	fs.Parse(args)
	if *dir == "" || *bin == "" {
		return fmt.Errorf("run: --dir and --jfs-dedup are required")
	}
	if *work == "" {
		d, err := os.MkdirTemp("", "dedupbench-")
		if err != nil {
			return err
		}
		*work = d
	}
	cold := true
	if err := dropCaches(); err != nil {
		cold = false
		fmt.Printf("cold cache: not measured, cannot drop the page cache (%v); every run below is warm\n", err)
	}
	var ts []tool
	for _, t := range tools(*bin) {
		if *only != "" && !strings.Contains(","+*only+",", ","+t.name+",") {
			continue
		}
		// jfs-dedup is given by path; the others come from PATH
		if _, err := exec.LookPath(t.argv("", "")[0]); err != nil {
			fmt.Printf("%s: not installed, skipped\n", t.name)
			continue
		}
		ts = append(ts, t)
	}
	best := map[string]*result{}
	keep := func(r result) {
		k := r.tool + "/" + r.cache
		if b, ok := best[k]; !ok || (r.err == nil && (b.err != nil || r.wall < b.wall)) {
			best[k] = &r
		}
		fmt.Fprintf(os.Stderr, "%s %s: %v, %d KiB\n", r.tool, r.cache, r.wall, r.rssKiB)
	}
	// Cold: each tool once, right after dropping the page cache.
	if cold {
		for _, t := range ts {
			if err := dropCaches(); err != nil {
				return err
			}
			r, err := runOnce(t, "cold", *dir, *work)
			if err != nil {
				return err
			}
			keep(r)
		}
	}
	// Warm: rounds over all tools, so that a busy moment of a shared
	// machine does not fall on one tool only; the fastest run of each is kept.
	for k := 0; k < max(1, *repeat); k++ {
		for _, t := range ts {
			r, err := runOnce(t, "warm", *dir, *work)
			if err != nil {
				return err
			}
			keep(r)
		}
	}
	var results []result
	var ref []string
	for _, mode := range []string{"cold", "warm"} {
		for _, t := range ts {
			r, ok := best[t.name+"/"+mode]
			if !ok {
				continue
			}
			if family(t.name) == "jfs-dedup" && ref == nil {
				ref = r.canon
			}
			r.same = compare(ref, r.canon, filepath.Join(*work, strings.ReplaceAll(t.name, " ", "")+"-"+mode+".diff"))
			results = append(results, *r)
		}
	}
	printTable(results)
	fmt.Printf("outputs and diffs in %s\n", *work)
	return nil
}

// runOnce runs one tool under /usr/bin/time -v and reads its groups.
func runOnce(t tool, mode, dir, work string) (result, error) {
	res := result{tool: t.name, cache: mode}
	base := strings.ReplaceAll(t.name, " ", "")
	out := filepath.Join(work, base+"-"+mode+".out")
	stdout := filepath.Join(work, base+"-"+mode+".stdout")
	timef := filepath.Join(work, base+"-"+mode+".time")
	os.Remove(out)
	argv := append([]string{"-v", "-o", timef}, t.argv(dir, out)...)
	cmd := exec.Command("/usr/bin/time", argv...)
	so, err := os.Create(stdout)
	if err != nil {
		return res, err
	}
	cmd.Stdout = so
	cmd.Stderr = os.Stderr
	cmd.Dir = work
	runErr := cmd.Run()
	so.Close()
	// rmlint exits 1 when it found lint; jfs-dedup 4 when some files were unreadable
	if ee, ok := runErr.(*exec.ExitError); ok && !(family(t.name) == "jfs-dedup" && ee.ExitCode() == 4) && !(t.name == "rmlint" && ee.ExitCode() == 1) {
		res.err = runErr
	}
	res.wall, res.rssKiB = parseTime(timef)
	gs, err := t.groups(stdout, out)
	if err != nil && res.err == nil {
		res.err = err
	}
	res.canon = canon(gs)
	res.groups = len(res.canon)
	for _, g := range gs {
		res.files += len(g)
	}
	return res, nil
}

func compare(ref, c []string, diffFile string) string {
	if ref == nil {
		return "?"
	}
	in := map[string]bool{}
	for _, g := range ref {
		in[g] = true
	}
	var onlyHere, missing []string
	seen := map[string]bool{}
	for _, g := range c {
		seen[g] = true
		if !in[g] {
			onlyHere = append(onlyHere, g)
		}
	}
	for _, g := range ref {
		if !seen[g] {
			missing = append(missing, g)
		}
	}
	if len(onlyHere) == 0 && len(missing) == 0 {
		return "identical"
	}
	var b strings.Builder
	for _, g := range onlyHere {
		fmt.Fprintf(&b, "only in this tool: %s\n", strings.ReplaceAll(g, "\x00", " | "))
	}
	for _, g := range missing {
		fmt.Fprintf(&b, "only in jfs-dedup: %s\n", strings.ReplaceAll(g, "\x00", " | "))
	}
	os.WriteFile(diffFile, []byte(b.String()), 0o644)
	return fmt.Sprintf("DIFFERS (+%d/-%d groups, see %s)", len(onlyHere), len(missing), filepath.Base(diffFile))
}

func parseTime(name string) (time.Duration, int64) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, 0
	}
	var wall time.Duration
	var rss int64
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "Elapsed (wall clock) time (h:mm:ss or m:ss): "); ok {
			parts := strings.Split(v, ":")
			var secs float64
			for _, p := range parts {
				f, _ := strconv.ParseFloat(p, 64)
				secs = secs*60 + f
			}
			wall = time.Duration(secs * float64(time.Second))
		}
		if v, ok := strings.CutPrefix(l, "Maximum resident set size (kbytes): "); ok {
			rss, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return wall, rss
}

// family groups the variants of one tool ("jfs-dedup --no-hash" is jfs-dedup).
func family(tool string) string {
	f, _, _ := strings.Cut(tool, " ")
	return f
}

func printTable(rs []result) {
	fmt.Printf("\n| tool | cache | wall s | peak RSS MiB | wall / fastest other | RSS / that tool's | groups (files) | groups vs jfs-dedup |\n")
	fmt.Printf("|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rs {
		// the fastest tool other than r in the same cache mode
		var best *result
		for i := range rs {
			o := &rs[i]
			if o.cache == r.cache && family(o.tool) != family(r.tool) && o.err == nil && (best == nil || o.wall < best.wall) {
				best = o
			}
		}
		wr, mr := "-", "-"
		if best != nil && best.wall > 0 && best.rssKiB > 0 {
			wr = fmt.Sprintf("%.2f (%s)", r.wall.Seconds()/best.wall.Seconds(), best.tool)
			mr = fmt.Sprintf("%.2f", float64(r.rssKiB)/float64(best.rssKiB))
		}
		same := r.same
		if r.err != nil {
			same = "ERROR: " + r.err.Error()
		}
		fmt.Printf("| %s | %s | %.2f | %.1f | %s | %s | %d (%d) | %s |\n",
			r.tool, r.cache, r.wall.Seconds(), float64(r.rssKiB)/1024, wr, mr, r.groups, r.files, same)
	}
}
