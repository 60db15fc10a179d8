package main

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

type target struct {
	path string
	fi   os.FileInfo
}

func cmdWarmup(args []string) int {
	flags, pos, err := splitArgs(args, map[string]bool{"f": true, "file": true, "p": true, "threads": true})
	if err == nil {
		err = checkFlags(flags, "f", "file", "p", "threads", "b", "background", "check", "evict")
	}
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	check, evict := flags["check"] == "true", flags["evict"] == "true"
	if check && evict {
		fatalf("warmup", "warmup.go", 224, "--check and --evict can't be used together")
	}
	action := "warmup cache"
	if evict {
		action = "evict cache"
	} else if check {
		action = "check cache"
	}
	var paths []string
	for _, p := range pos {
		abs, err := filepath.Abs(p)
		if err != nil {
			fatalf("warmup", "warmup.go", 232, "Failed to get absolute path of %q: %s", p, err)
		}
		paths = append(paths, backingPath(abs))
	}
	listFile := flags["f"]
	if listFile == "" {
		listFile = flags["file"]
	}
	if listFile != "" {
		fd, err := os.Open(listFile)
		if err != nil {
			fatalf("warmup", "warmup.go", 239, "Failed to open file %q: %s", listFile, err)
		}
		sc := bufio.NewScanner(fd)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if p := strings.TrimSpace(sc.Text()); p != "" {
				if abs, err := filepath.Abs(p); err == nil {
					paths = append(paths, backingPath(abs))
				}
			}
		}
		if err := sc.Err(); err != nil {
			fatalf("warmup", "warmup.go", 253, "Reading file %q failed with error: %s", listFile, err)
		}
		fd.Close()
		if rm := os.Getenv("FAKEJUICEFS_RMLIST"); rm != "" && rm == listFile {
			_ = os.Remove(rm)
		}
	}
	if len(paths) == 0 {
		infof("warmup", "warmup.go", 257, "no path")
		return 0
	}
	first := paths[0]
	if _, err := os.Stat(first); err != nil {
		fatalf("main", "main.go", 31, "open control file for %s: %s", first, err)
	}
	mount, err := findMount(first)
	if err != nil {
		fatalf("main", "main.go", 31, "open control file for %s: open %s: no such file or directory", first, filepath.Join(first, ".jfs.control"))
	}
	vol, err := openVolume(mount)
	if err != nil {
		fatalf("main", "main.go", 31, "open control file for %s: %s", first, err)
	}
	threads := 50
	tv := flags["p"]
	if tv == "" {
		tv = flags["threads"]
	}
	if tv != "" {
		n, err := strconv.ParseUint(tv, 10, 16)
		if err != nil {
			fatalf("main", "main.go", 31, "invalid value %q for flag -p: %s", tv, err)
		}
		threads = int(n)
		if threads == 0 {
			warnf("warmup", "warmup.go", 281, "threads should be larger than 0, reset it to 1")
			threads = 1
		}
	}
	if flags["b"] == "true" || flags["background"] == "true" {
		return background(vol, action, threads, paths)
	}

	targets := vol.expand(paths)
	metas := make([]*fileMeta, len(targets))
	if err := vol.withMeta(func(m *metaState) error {
		known := true
		for i, t := range targets {
			if fm, ok := m.file(inodeKey(t.fi)); !ok || fm.Length != t.fi.Size() || fm.MtimeNs != t.fi.ModTime().UnixNano() {
				known = false
			}
			metas[i] = sliceFor(m, t.path, t.fi)
		}
		if known {
			return errUnchanged // nothing new to record: the transaction writes nothing
		}
		return nil
	}); err != nil {
		fatalf("warmup", "warmup.go", 160, "%s failed: %s", action, err)
	}
	var total int64
	var blocks []block
	for i, t := range targets {
		total += metas[i].Length
		blocks = append(blocks, vol.blocks(t.path, metas[i])...)
	}
	switch {
	case check:
		perDir := map[string]uint64{}
		var cached uint64
		for _, b := range blocks {
			if b.cached() {
				perDir[b.dir] += uint64(b.length)
				cached += uint64(b.length)
			}
		}
		if len(perDir) > 0 {
			rows := [][]string{{"Location", "Size", "Percentage"}}
			var dirs []string
			for d := range perDir {
				dirs = append(dirs, d)
			}
			sort.Strings(dirs)
			for _, d := range dirs {
				rows = append(rows, []string{filepath.Join(d, vol.set.UUID) + "/", iBytes(perDir[d]),
					fmt.Sprintf("%.1f%%", float64(perDir[d])*100/float64(total))})
			}
			var sb strings.Builder
			printTable(&sb, rows, 0)
			fmt.Print(sb.String())
		}
		pct := 0.0
		if total != 0 {
			pct = float64(cached) * 100 / float64(total)
		}
		infof("warmup", "warmup.go", 332, "%s: %d files checked, %s of %s (%2.1f%%) cached", action, len(targets),
			iBytes(cached), iBytes(uint64(total)), pct)
	case evict:
		// Like a real client, only blocks in this mount's own index (written
		// by it since it was mounted) are removed; the summary is the same.
		var evicted int64
		if err := vol.withMeta(func(m *metaState) error {
			mnt := mountOf(vol.mount)
			for _, b := range blocks {
				if !m.isWritten(mnt, b.path) {
					continue
				}
				m.unmarkWritten(mnt, b.path)
				if err := os.Remove(b.path); err == nil {
					evicted++
				} else if !os.IsNotExist(err) {
					mountLog(vol.mount, "evict %s: %s", b.path, err)
				}
			}
			return nil
		}); err != nil {
			mountLog(vol.mount, "evict: %s", err)
		}
		vol.updateStats(cacheCounters{Evicts: evicted})
		infof("warmup", "warmup.go", 311, "%s: %d files (%s bytes)", action, len(targets), iBytes(uint64(total)))
	default:
		lim := &limiter{bps: vol.set.Bandwidth * (1 << 20)}
		failFrac, err := failFraction()
		if err != nil {
			fatalf("warmup", "warmup.go", 160, "%s", err)
		}
		work := make(chan block)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var written cacheCounters
		var paths []string
		stopLive := vol.liveStats(&mu, &written)
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range work {
					if brokenObject(b, failFrac) {
						mountLog(vol.mount, "warmup block %s: get object: simulated failure (FAKEJUICEFS_FAIL_BLOCKS)", b.path)
						continue
					}
					n, err := b.fetch(lim)
					if err != nil {
						// The real client logs failed blocks in the mount log and still exits 0.
						mountLog(vol.mount, "warmup block %s: %s", b.path, err)
					}
					if n > 0 {
						mu.Lock()
						written.Writes++
						written.WriteBytes += n
						written.GetBytes += b.length
						paths = append(paths, b.path)
						mu.Unlock()
					}
				}
			}()
		}
		for _, b := range blocks {
			if !b.cached() {
				work <- b
			}
		}
		close(work)
		wg.Wait()
		liveW, liveB := stopLive()
		written.Writes -= liveW
		written.WriteBytes -= liveB
		if err := vol.withMeta(func(m *metaState) error {
			mnt := mountOf(vol.mount)
			for _, p := range paths {
				m.markWritten(mnt, p)
			}
			return vol.writeStats(m, written)
		}); err != nil {
			mountLog(vol.mount, "record written blocks: %s", err)
		}
		infof("warmup", "warmup.go", 309, "%s: %d files (%s bytes)", action, len(targets), iBytes(uint64(total)))
	}
	return 0
}

// updateStats records counters and rewrites .stats; a failure only goes to
// the mount log, as a real client would not fail the command for it.
func (v *volume) updateStats(add cacheCounters) {
	if err := v.withMeta(func(m *metaState) error { return v.writeStats(m, add) }); err != nil {
		mountLog(v.mount, "update .stats: %s", err)
	}
}

// expand resolves the requested paths to regular files (directories
// recursively), skipping the mount's internal entries. Paths outside the
// mount are reported as the real CLI does; missing ones only in the mount log.
func (v *volume) expand(paths []string) []target {
	var out []target
	for _, p := range paths {
		if p != v.mount && !strings.HasPrefix(p, v.mount+"/") {
			errorf("warmup", "warmup.go", 297, "Path %q is not under mount point %q", p, v.mount)
			continue
		}
		fi, err := os.Lstat(p)
		if err != nil {
			mountLog(v.mount, "warmup: lookup %s: %s", p, err)
			continue
		}
		if fi.Mode().IsRegular() {
			out = append(out, target{p, fi})
			continue
		}
		if !fi.IsDir() {
			continue
		}
		_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				mountLog(v.mount, "warmup: walk %s: %s", q, err)
				return nil
			}
			if filepath.Dir(q) == v.mount && internalNames[d.Name()] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					out = append(out, target{q, fi})
				}
			}
			return nil
		})
	}
	return out
}

// background hands the work to a detached copy of itself (like a real mount
// doing the work after the CLI returned) and returns at once. The paths are
// written to a private list file that the child removes after reading.
func background(vol *volume, action string, threads int, paths []string) int {
	self, err := os.Executable()
	if err != nil {
		fatalf("warmup", "warmup.go", 150, "Write message: %s", err)
	}
	list, err := os.CreateTemp(filepath.Join(vol.mount, stateDir), "bg-*.list")
	if err != nil {
		fatalf("warmup", "warmup.go", 150, "Write message: %s", err)
	}
	_, err = list.WriteString(strings.Join(paths, "\n") + "\n")
	if cerr := list.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fatalf("warmup", "warmup.go", 150, "Write message: %s", err)
	}
	logf, err := os.OpenFile(filepath.Join(vol.mount, stateDir, "mount.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fatalf("warmup", "warmup.go", 150, "Write message: %s", err)
	}
	defer logf.Close()
	args := []string{"warmup", "-p", strconv.Itoa(threads), "-f", list.Name()}
	switch action {
	case "check cache":
		args = append(args, "--check")
	case "evict cache":
		args = append(args, "--evict")
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "FAKEJUICEFS_RMLIST="+list.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fatalf("warmup", "warmup.go", 150, "Write message: %s", err)
	}
	_ = cmd.Process.Release()
	infof("sendCommand", "warmup.go", 157, "%s for %d paths in background", action, len(paths))
	return 0
}

// failFraction reads FAKEJUICEFS_FAIL_BLOCKS (0 when unset).
func failFraction() (float64, error) {
	v := os.Getenv("FAKEJUICEFS_FAIL_BLOCKS")
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("FAKEJUICEFS_FAIL_BLOCKS=%q: want a fraction from 0 to 1", v)
	}
	return f, nil
}

// brokenObject decides, from the block's name alone, whether its download
// fails: the same blocks fail on every attempt, like a broken object.
func brokenObject(b block, frac float64) bool {
	if frac <= 0 {
		return false
	}
	return float64(crc32.ChecksumIEEE([]byte(filepath.Base(b.path)))%10000) < frac*10000
}
