package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// tool is one duplicate finder: how to run it and how to read its groups.
type tool struct {
	name string
	// argv returns the command; out is a file the tool may write to.
	argv func(dir, out string) []string
	// groups reads the duplicate groups from stdout or out.
	groups func(stdout, out string) ([][]string, error)
}

func tools(jfsDedup string) []tool {
	return []tool{
		{"jfs-dedup", func(dir, _ string) []string {
			return []string{jfsDedup, "scan", "--json", "--progress", "never", dir}
		}, jfsDedupGroups},
		{"jfs-dedup --no-hash", func(dir, _ string) []string {
			return []string{jfsDedup, "scan", "--no-hash", "--json", "--progress", "never", dir}
		}, jfsDedupGroups},
		{"rmlint", func(dir, out string) []string {
			return []string{"rmlint", "-T", "df", "-o", "json:" + out, dir}
		}, rmlintGroups},
		{"jdupes", func(dir, _ string) []string { return []string{"jdupes", "-r", "-q", dir} }, blankLineGroups},
		{"rdfind", func(dir, out string) []string {
			return []string{"rdfind", "-ignoreempty", "true", "-outputname", out, dir}
		}, rdfindGroups},
		{"fdupes", func(dir, _ string) []string { return []string{"fdupes", "-r", "-q", "-n", dir} }, blankLineGroups},
	}
}

func jfsDedupGroups(stdout, _ string) ([][]string, error) {
	f, err := os.Open(stdout)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r struct {
		Groups []struct {
			State string
			Files []struct {
				Path  string
				Links []string
			}
		}
	}
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return nil, err
	}
	var out [][]string
	for _, g := range r.Groups {
		if g.State != "duplicate" {
			continue
		}
		var ps []string
		for _, f := range g.Files {
			ps = append(ps, f.Path)
			ps = append(ps, f.Links...)
		}
		out = append(out, ps)
	}
	return out, nil
}

func rmlintGroups(_, out string) ([][]string, error) {
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var items []map[string]any
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("rmlint json: %w", err)
	}
	by := map[string][]string{}
	for _, it := range items {
		if it["type"] != "duplicate_file" {
			continue
		}
		k := fmt.Sprint(it["checksum"], "/", it["size"])
		by[k] = append(by[k], fmt.Sprint(it["path"]))
	}
	var g [][]string
	for _, ps := range by {
		g = append(g, ps)
	}
	return g, nil
}

func blankLineGroups(stdout, _ string) ([][]string, error) {
	f, err := os.Open(stdout)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]string
	var cur []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if l := sc.Text(); l == "" {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
		} else {
			cur = append(cur, l)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, sc.Err()
}

func rdfindGroups(_, out string) ([][]string, error) {
	f, err := os.Open(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	by := map[int64][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		// duptype id depth size device inode priority name (name may hold spaces)
		fs := strings.SplitN(l, " ", 8)
		if len(fs) < 8 {
			continue
		}
		id, err := strconv.ParseInt(fs[1], 10, 64)
		if err != nil {
			continue
		}
		if id < 0 {
			id = -id
		}
		by[id] = append(by[id], fs[7])
	}
	var g [][]string
	for _, ps := range by {
		if len(ps) > 1 {
			g = append(g, ps)
		}
	}
	return g, sc.Err()
}

// canon sorts paths in each group and the groups, one string per group.
func canon(groups [][]string) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		g = append([]string(nil), g...)
		sort.Strings(g)
		out = append(out, strings.Join(g, "\x00"))
	}
	sort.Strings(out)
	return out
}
