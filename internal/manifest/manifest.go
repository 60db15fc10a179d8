// Package manifest keeps the file list of a dataset, written by whoever walked
// it (a warm-up's one walk, or the cache manager's first refresh), so that
// later verifications and cache-table refreshes draw a random sample of its
// files without walking it again. A manifest is one text file per dataset in
// warmupd's state directory (Dir): a header line, then one "SIZE\tPATH" line
// per regular file.
//
//	# accel-data manifest v1 files=3 bytes=12288 max=4096 walked=2026-12-01T15:00:00Z
//	4096	/jfs/ds/a
//	…
//
// The header carries the counts, so a sampler picks its line numbers before
// it reads the file and keeps only the picked lines in memory.
package manifest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// header is the first line's prefix; its version changes with the format.
const header = "# accel-data manifest v1"

// File is one regular file of a dataset.
type File struct {
	Path string
	Size int64
}

// Info is a manifest's header: the dataset's counts when it was walked.
type Info struct {
	Files    int64
	Bytes    int64
	MaxSize  int64 // the largest file (bounds one file's share of a sample)
	WalkedAt time.Time
}

// Dir is the manifest directory of a warmupd whose database is db.
func Dir(db string) string { return filepath.Join(filepath.Dir(db), "manifests") }

// PathFor is the manifest file of dataset in dir.
func PathFor(dir, dataset string) string {
	h := sha256.Sum256([]byte(dataset))
	return filepath.Join(dir, hex.EncodeToString(h[:12])+".list")
}

// internalNames are the virtual files a JuiceFS mount shows at its root.
var internalNames = map[string]bool{
	".accesslog": true, ".config": true, ".stats": true, ".control": true, ".trash": true,
	".jfs.accesslog": true, ".jfs.config": true, ".jfs.stats": true, ".jfs.control": true, ".jfs.trash": true,
}

// Walk lists the regular files at or under dataset (symlinks are not
// followed, as juicefs warmup does not follow them), leaving out a mount
// root's virtual files, and returns them with the header.
func Walk(ctx context.Context, dataset string) ([]File, Info, error) {
	var files []File
	info := Info{WalkedAt: time.Now()}
	err := filepath.WalkDir(dataset, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dataset {
				return nil // removed meanwhile
			}
			return err
		}
		if internalNames[e.Name()] && p != dataset {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() {
			if e.IsDir() && ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		if strings.ContainsAny(p, "\n\r") {
			return nil // a juicefs list file cannot name it; it is not sampled
		}
		fi, err := e.Info()
		if err != nil {
			return nil
		}
		files = append(files, File{Path: p, Size: fi.Size()})
		info.Files++
		info.Bytes += fi.Size()
		info.MaxSize = max(info.MaxSize, fi.Size())
		return nil
	})
	if err != nil {
		return nil, Info{}, fmt.Errorf("manifest: walk %s: %w", dataset, err)
	}
	return files, info, nil
}

// Write stores the manifest of dataset in dir (created if missing),
// atomically: a reader sees the old or the new one, never a part.
func Write(dir, dataset string, files []File, info Info) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("manifest: create %s (is the state directory writable?): %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "%s files=%d bytes=%d max=%d walked=%s\n", header, info.Files, info.Bytes, info.MaxSize, info.WalkedAt.UTC().Format(time.RFC3339Nano))
	for _, fl := range files {
		w.WriteString(strconv.FormatInt(fl.Size, 10))
		w.WriteByte('\t')
		w.WriteString(fl.Path)
		w.WriteByte('\n')
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), PathFor(dir, dataset))
	}
	if err != nil {
		return fmt.Errorf("manifest: write the file list of %s: %w", dataset, err)
	}
	return nil
}

// Save writes the manifest of dataset from a walk's files, walked now: the
// one call for whoever walked a dataset anyway (a warm-up's shard plan).
func Save(dir, dataset string, files []File) error {
	info := Info{WalkedAt: time.Now()}
	for _, f := range files {
		info.Files++
		info.Bytes += f.Size
		info.MaxSize = max(info.MaxSize, f.Size)
	}
	return Write(dir, dataset, files, info)
}

// Remove forgets dataset's manifest (a missing one is not an error).
func Remove(dir, dataset string) error {
	err := os.Remove(PathFor(dir, dataset))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ReadInfo reads the header of dataset's manifest; fs.ErrNotExist when none.
func ReadInfo(dir, dataset string) (Info, error) {
	f, err := os.Open(PathFor(dir, dataset))
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return Info{}, fmt.Errorf("manifest of %s: no header: %w", dataset, err)
	}
	return parseHeader(dataset, line)
}

func parseHeader(dataset, line string) (Info, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), header+" ")
	if !ok {
		return Info{}, fmt.Errorf("manifest of %s: header %q is not %q (remove the file; the next refresh walks again)", dataset, line, header)
	}
	var info Info
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "files":
			info.Files, err = strconv.ParseInt(v, 10, 64)
		case "bytes":
			info.Bytes, err = strconv.ParseInt(v, 10, 64)
		case "max":
			info.MaxSize, err = strconv.ParseInt(v, 10, 64)
		case "walked":
			info.WalkedAt, err = time.Parse(time.RFC3339Nano, v)
		}
		if err != nil {
			return Info{}, fmt.Errorf("manifest of %s: header field %s: %w", dataset, kv, err)
		}
	}
	return info, nil
}

// Pick reads the files at the given line numbers (0-based, after the header)
// of dataset's manifest, in one pass, keeping only those in memory. The
// header comes with them; fs.ErrNotExist when there is no manifest.
func Pick(dir, dataset string, lines []int64) ([]File, Info, error) {
	f, err := os.Open(PathFor(dir, dataset))
	if err != nil {
		return nil, Info{}, err
	}
	defer f.Close()
	sorted := append([]int64(nil), lines...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	r := bufio.NewReaderSize(f, 1<<20)
	head, err := r.ReadString('\n')
	if err != nil {
		return nil, Info{}, fmt.Errorf("manifest of %s: no header: %w", dataset, err)
	}
	info, err := parseHeader(dataset, head)
	if err != nil {
		return nil, Info{}, err
	}
	out := make([]File, 0, len(sorted))
	var n int64
	for i := 0; i < len(sorted); n++ {
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, Info{}, fmt.Errorf("manifest of %s: %w", dataset, err)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, Info{}, fmt.Errorf("manifest of %s: line %d longer than 1 MiB", dataset, n+1)
		}
		if n != sorted[i] {
			continue
		}
		for i < len(sorted) && sorted[i] == n {
			i++
		}
		sz, p, ok := strings.Cut(strings.TrimSuffix(string(line), "\n"), "\t")
		size, perr := strconv.ParseInt(sz, 10, 64)
		if !ok || perr != nil {
			return nil, Info{}, fmt.Errorf("manifest of %s: line %d is not SIZE<tab>PATH", dataset, n+2)
		}
		out = append(out, File{Path: p, Size: size})
	}
	return out, info, nil
}
