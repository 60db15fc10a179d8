package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// The stand-in's metadata changelog, as JuiceFS 1.4 keeps one (juicedata/
// juicefs cmd/changelog.go, pkg/meta/changelog.go): `config META-URL
// --changelog` turns it on, `changelog --from VER META-URL` prints
// "VER: ENTRY" lines and waits for more (see cmdChangelog), an entry being
// SEC.NSEC|OP(ARG,…)[:RESULT,…]|(SID,TXNID) with path-escaped arguments.
// The stand-in's META-URL is the volume directory (what format was given).
// It records what its FUSE mounts create (CREATE, of files and directories),
// remove (UNLINK, RMDIR) and rename (MOVE), with the argument order of
// juicefs's changelog_apply.go; it keeps every entry (a real volume keeps
// 2 h by default), and does not log writes, attribute changes or what the
// CLI (clone) does.
const (
	changelogFile = "changelog"    // VOLUMEDIR/.fakejuicefs/changelog: the entries
	changelogOn   = "changelog.on" // present while the changelog is enabled
)

// metaVolume finds the stand-in volume a META-URL names.
func metaVolume(meta string) string {
	abs, err := filepath.Abs(meta)
	if err != nil {
		fatalf("main", "main.go", 31, "abs of %q: %s", meta, err)
	}
	m, err := findMount(backingPath(abs))
	if err != nil {
		fatalf("meta", "interface.go", 532, "invalid meta URL %s: %s (the stand-in's META-URL is its volume directory)", meta, err)
	}
	return m
}

// cmdConfig is `config META-URL --changelog[=BOOL]` (the only setting the
// stand-in changes).
func cmdConfig(args []string) int {
	flags, pos, err := splitArgs(args, nil)
	if err == nil {
		err = checkFlags(flags, "changelog")
	}
	if err != nil || len(pos) != 1 {
		fatalf("main", "main.go", 31, "usage: fakejuicefs config META-URL --changelog[=true|false]")
	}
	vol := metaVolume(pos[0])
	on := filepath.Join(vol, stateDir, changelogOn)
	_, statErr := os.Stat(on)
	was := statErr == nil
	if v, ok := flags["changelog"]; ok {
		want, err := strconv.ParseBool(v)
		if err != nil {
			fatalf("config", "config.go", 280, "invalid value %q for --changelog", v)
		}
		if want {
			err = os.WriteFile(on, nil, 0o644)
		} else if was {
			err = os.Remove(on)
		}
		if err != nil {
			fatalf("config", "config.go", 290, "%s", err)
		}
		if want != was {
			infof("config", "config.go", 300, "changelog: %t -> %t", was, want)
		}
	}
	return 0
}

// cmdChangelog is `changelog [--from VER] [--follow[=BOOL]] META-URL`. As
// juicefs's (1.4.1 has no --follow and always follows; later clients take
// it, default true), it prints the entries from VER (0: from the latest) and
// then, following, polls for new ones until it is killed.
func cmdChangelog(args []string) int {
	flags, pos, err := splitArgs(args, map[string]bool{"from": true})
	if err == nil {
		err = checkFlags(flags, "from", "follow")
	}
	if err != nil || len(pos) != 1 {
		fatalf("main", "main.go", 31, "usage: fakejuicefs changelog [--from VER] [--follow=BOOL] META-URL")
	}
	follow := true
	if v, ok := flags["follow"]; ok && v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			fatalf("main", "main.go", 31, "invalid boolean value %q for -follow: parse error", v)
		}
	}
	vol := metaVolume(pos[0])
	if _, err := os.Stat(filepath.Join(vol, stateDir, changelogOn)); err != nil {
		fatalf("main", "main.go", 35, "changelog is not enabled, use `juicefs config %s --changelog` to enable it", pos[0])
	}
	from := int64(0)
	if v := flags["from"]; v != "" {
		if from, err = strconv.ParseInt(v, 10, 64); err != nil {
			fatalf("main", "main.go", 31, "invalid value %q for flag -from", v)
		}
	}
	r := changelogReader{path: filepath.Join(vol, stateDir, changelogFile), from: from}
	if from <= 0 { // from the latest: only what comes next
		r.from = math.MaxInt64
		r.read(io.Discard)
		r.from = r.last + 1
	}
	out := bufio.NewWriter(os.Stdout)
	for {
		r.read(out)
		if err := out.Flush(); err != nil || !follow {
			return 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// changelogReader prints a volume's changelog entries from version from,
// each once, as they are appended.
type changelogReader struct {
	path string
	from int64
	off  int64 // bytes read (complete lines)
	last int64 // the last version seen
}

// read prints the entries appended since the last read.
func (r *changelogReader) read(w io.Writer) {
	f, err := os.Open(r.path)
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		fatalf("changelog", "changelog.go", 80, "%s", err)
	}
	defer f.Close()
	if _, err := f.Seek(r.off, io.SeekStart); err != nil {
		fatalf("changelog", "changelog.go", 80, "%s", err)
	}
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadString('\n')
		if err != nil { // EOF, or a line still being written
			return
		}
		r.off += int64(len(line))
		v, _, _ := strings.Cut(line, ": ")
		if ver, err := strconv.ParseInt(v, 10, 64); err == nil {
			r.last = max(r.last, ver)
			if ver >= r.from {
				io.WriteString(w, line)
			}
		}
	}
}

// changelogWriter appends a FUSE mount's entries to its volume's changelog
// while the changelog is on.
type changelogWriter struct {
	mu   sync.Mutex
	dir  string // VOLUMEDIR/.fakejuicefs
	next int64  // the next version; 0: not read yet
	sid  uint64
}

// logEncode escapes an argument as juicefs's does for the separators
// (',', '(', ')', '|' included), with path escapes, which url.PathUnescape
// undoes.
func logEncode(s string) string {
	return strings.NewReplacer(",", "%2C", "(", "%28", ")", "%29", "|", "%7C").Replace(url.PathEscape(s))
}

// add appends OP(args):result if the changelog is on.
func (w *changelogWriter) add(op string, result uint64, args ...any) {
	if _, err := os.Stat(filepath.Join(w.dir, changelogOn)); err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	path := filepath.Join(w.dir, changelogFile)
	if w.next == 0 {
		w.next = 1
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				v, _, _ := strings.Cut(sc.Text(), ": ")
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= w.next {
					w.next = n + 1
				}
			}
			f.Close()
		}
	}
	s := make([]string, len(args))
	for i, a := range args {
		switch a := a.(type) {
		case string:
			s[i] = logEncode(a)
		default:
			s[i] = fmt.Sprint(a)
		}
	}
	now := time.Now()
	line := fmt.Sprintf("%d: %d.%09d|%s(%s):%d|(%d,%d)\n", w.next, now.Unix(), now.Nanosecond(), op, strings.Join(s, ","), result, w.sid, w.next)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line); err == nil {
		w.next++
	}
}

// JuiceFS file types (pkg/meta): TypeFile 1, TypeDirectory 2.
const (
	typeFile      = 1
	typeDirectory = 2
)

var (
	_ = (fs.NodeMkdirer)((*node)(nil))
	_ = (fs.NodeUnlinker)((*node)(nil))
	_ = (fs.NodeRmdirer)((*node)(nil))
	_ = (fs.NodeRenamer)((*node)(nil))
)

// childIno is the inode of name in n before an operation removes it.
func (n *node) childIno(name string) uint64 {
	var st syscall.Stat_t
	if syscall.Lstat(filepath.Join(n.backing(), name), &st) != nil {
		return 0
	}
	return st.Ino
}

// created logs a CREATE of name (CREATE(parent, name, uid, gid, type, mode,
// cumask, path, behavior, updateParent, rdev):inode).
func (n *node) created(ctx context.Context, name string, typ int, mode uint32, ino uint64) {
	if n.private {
		return
	}
	uid, gid := uint32(0), uint32(0)
	if c, ok := fuse.FromContext(ctx); ok {
		uid, gid = c.Uid, c.Gid
	}
	n.s.changes.add("CREATE", ino, n.ino(), name, uid, gid, typ, mode&07777, 0o022, "", "Keep", "true", 0)
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno == 0 {
		n.created(ctx, name, typeDirectory, mode, ch.StableAttr().Ino)
	}
	return ch, errno
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	ino := n.childIno(name)
	errno := n.LoopbackNode.Unlink(ctx, name)
	if errno == 0 && !n.private { // UNLINK(parent, name, trash, opened, updateParent):inode
		n.s.changes.add("UNLINK", ino, n.ino(), name, 0, "false", "true")
	}
	return errno
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	ino := n.childIno(name)
	errno := n.LoopbackNode.Rmdir(ctx, name)
	if errno == 0 && !n.private { // RMDIR(parent, name, trash):inode
		n.s.changes.add("RMDIR", ino, n.ino(), name, 0)
	}
	return errno
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	ino := n.childIno(name)
	np, _ := newParent.(*node)
	var over uint64
	if np != nil {
		over = np.childIno(newName)
	}
	errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
	if errno == 0 && np != nil && !n.private && !np.private {
		// MOVE(parentSrc, nameSrc, parentDst, nameDst, flags, overwritten, trash, opened):inode
		n.s.changes.add("MOVE", ino, n.ino(), name, np.ino(), newName, flags, over, 0, "false")
	}
	return errno
}
