package jfs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The JuiceFS metadata changelog (1.4, beta; off by default, turned on with
// `juicefs config META-URL --changelog`, entries kept 2 h by default) lists
// the metadata operations of a volume. `juicefs changelog --from VER META-URL`
// prints the entries from version VER (cmd/changelog.go
// of juicedata/juicefs: fmt.Printf("%d: %s\n", ver, entry)); each entry is
//
//	<SEC>.<NSEC>|<OP>(<ARG>,...)[:<RESULT>,...]|(<SID>,<TXNID>)
//
// with every argument and result path-escaped (url.PathUnescape undoes it;
// ',', '(' and ')' never appear unescaped). pkg/meta/changelog.go and
// changelog_apply.go of juicedata/juicefs give the operations and the meaning
// of their arguments; testdata/changelog_1.4.txt has examples.

// ChangeEntry is one entry of the metadata changelog.
type ChangeEntry struct {
	Ver    int64
	Time   time.Time
	Op     string
	Args   []string
	Result []string
}

// Named is a directory entry: the inode of its parent directory and its name.
type Named struct {
	Dir  uint64
	Name string
}

// Change is what an entry changed that can make a warm dataset's cache
// status wrong: entries created, removed or renamed (Names: every name
// concerned, a rename's source and destination), or the data of a file
// (Inode: a write, truncate, fallocate or copy into it).
type Change struct {
	Kind  string // "create", "remove", "rename", "link", "clone" or "write"
	Names []Named
	Inode uint64
}

// ErrChangelogOff means the volume's changelog is not enabled (juicefs
// prints "changelog is not enabled, use `juicefs config META-URL
// --changelog` to enable it") or the client has no `changelog` command
// (before 1.4).
var ErrChangelogOff = errors.New("jfs: the volume's metadata changelog is not available (enable it with `juicefs config META-URL --changelog`, JuiceFS 1.4 or later)")

// Default bounds of a read of the changelog (Driver.ChangelogIdle,
// ChangelogFirst, ChangelogMax).
const (
	DefaultChangelogIdle  = time.Second
	DefaultChangelogFirst = 5 * time.Second
	DefaultChangelogMax   = 20 * time.Second
)

// Changelog returns the changelog entries of the volume at metaURL from
// version from (`juicefs changelog --from FROM META-URL`; from must be ≥ 1:
// 0 would mean "the latest"). The 1.4.1 client has no --follow flag: it
// prints the entries and then waits for new ones forever (later clients
// keep that default and take --follow=false to exit). So the output is read
// as it comes and the process group is killed when no new line came for
// ChangelogIdle (ChangelogFirst before the first), after ChangelogMax, or at
// 8 MiB; the entries of the complete lines read are returned, and the next
// call goes on after the last one. An error the client prints before it
// exits on its own (the changelog is not enabled, or it has no changelog
// command) is ErrChangelogOff.
func (d *Driver) Changelog(ctx context.Context, metaURL string, from int64) ([]ChangeEntry, error) {
	from = max(from, 1)
	b := &streamBounds{
		First: cmp.Or(d.ChangelogFirst, DefaultChangelogFirst),
		Idle:  cmp.Or(d.ChangelogIdle, DefaultChangelogIdle),
		Total: cmp.Or(d.ChangelogMax, DefaultChangelogMax),
	}
	stdout, stderr, err := d.runUntil(ctx, "changelog", metaURL,
		[]string{"changelog", "--from", strconv.FormatInt(from, 10), metaURL}, b)
	if err != nil {
		if strings.Contains(stderr, "changelog is not enabled") || strings.Contains(stderr, "No help topic for 'changelog'") {
			return nil, fmt.Errorf("%w: %s", ErrChangelogOff, lastLines(strings.TrimSpace(stderr), 1))
		}
		return nil, err
	}
	return ParseChangelog(stdout)
}

// ParseChangelog parses `juicefs changelog` output: one "VER: ENTRY" per
// line. A last line without its newline (output cut at the bound) is left
// out. Lines it cannot parse are skipped, and the error names the first and
// counts them: the entries returned are still good.
func ParseChangelog(stdout string) ([]ChangeEntry, error) {
	if i := strings.LastIndexByte(stdout, '\n'); i < len(stdout)-1 {
		stdout = stdout[:i+1]
	}
	var out []ChangeEntry
	var first error
	bad := 0
	for line := range strings.SplitSeq(stdout, "\n") {
		if line == "" {
			continue
		}
		v, entry, ok := strings.Cut(line, ": ")
		ver, err := strconv.ParseInt(v, 10, 64)
		var e ChangeEntry
		if !ok || err != nil {
			err = fmt.Errorf("jfs: changelog line %q: want \"VERSION: ENTRY\"", line)
		} else {
			e, err = ParseChangeEntry(ver, entry)
		}
		if err != nil {
			if bad++; first == nil {
				first = err
			}
			continue
		}
		out = append(out, e)
	}
	if bad > 0 {
		return out, fmt.Errorf("%w (%d changelog lines skipped; is this a JuiceFS 1.4 client?)", first, bad)
	}
	return out, nil
}

// ParseChangeEntry parses one entry (see the package comment).
func ParseChangeEntry(ver int64, entry string) (ChangeEntry, error) {
	bad := func(why string) (ChangeEntry, error) {
		return ChangeEntry{}, fmt.Errorf("jfs: changelog entry %d %q: %s", ver, entry, why)
	}
	head := strings.IndexByte(entry, '|')
	tail := strings.LastIndex(entry, "|(") // '(' is escaped in arguments: "|(" is the suffix
	if head < 0 || tail <= head || !strings.HasSuffix(entry, ")") {
		return bad("no TIME|OP(ARGS)|(SID,TXN) shape")
	}
	ts, err := parseChangeTime(entry[:head])
	if err != nil {
		return bad(err.Error())
	}
	body := entry[head+1 : tail]
	open := strings.IndexByte(body, '(')
	closing := strings.IndexByte(body, ')')
	if open <= 0 || closing < open {
		return bad("no OP(ARGS)")
	}
	e := ChangeEntry{Ver: ver, Time: ts, Op: body[:open]}
	if e.Args, err = splitDecode(body[open+1 : closing]); err != nil {
		return bad(err.Error())
	}
	if rest := body[closing+1:]; rest != "" {
		if rest[0] != ':' {
			return bad("unexpected " + rest)
		}
		if e.Result, err = splitDecode(rest[1:]); err != nil {
			return bad(err.Error())
		}
	}
	return e, nil
}

// parseChangeTime parses "SEC.NSEC" (the fraction is decimal).
func parseChangeTime(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q", s)
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		if ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return time.Time{}, fmt.Errorf("bad time %q", s)
		}
	}
	return time.Unix(n, ns), nil
}

func splitDecode(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		v, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = v
	}
	return parts, nil
}

// Change says what e changed in the namespace or in a file's data; false for
// the operations that change neither (attributes, xattrs, sessions, locks,
// quotas, background cleanup) or an entry of an unexpected shape. The
// argument positions are those of juicefs's changelog_apply.go.
func (e ChangeEntry) Change() (Change, bool) {
	u := func(i int) uint64 {
		if i < 0 || i >= len(e.Args) {
			return 0
		}
		v, _ := strconv.ParseUint(e.Args[i], 10, 64)
		return v
	}
	named := func(dir, name int) []Named {
		if u(dir) == 0 || name >= len(e.Args) {
			return nil
		}
		return []Named{{Dir: u(dir), Name: e.Args[name]}}
	}
	var c Change
	switch e.Op {
	case "CREATE": // parent, name, uid, gid, type, mode, cumask, path, behavior, updateParent[, rdev] : inode
		c = Change{Kind: "create", Names: named(0, 1)}
	case "UNLINK", "RMDIR": // parent, name, trash, … : inode
		c = Change{Kind: "remove", Names: named(0, 1)}
	case "UNLINKBATCH": // parent, name…, trash, updateParent : inode…
		if len(e.Args) < 4 {
			return Change{}, false
		}
		c.Kind = "remove"
		for i := 1; i < len(e.Args)-2; i++ {
			c.Names = append(c.Names, named(0, i)...)
		}
	case "MOVE": // parentSrc, nameSrc, parentDst, nameDst, flags, overwritten, trash, opened : inode
		c = Change{Kind: "rename", Names: append(named(0, 1), named(2, 3)...)}
	case "LINK": // inode, parent, name, updateParent : nlink
		c = Change{Kind: "link", Names: named(1, 2)}
	case "CLONEBATCH": // parent, mode, umask, uid, gids, (srcInode, name)… : dstInode…
		c.Kind = "clone"
		for i := 6; i < len(e.Args); i += 2 {
			c.Names = append(c.Names, named(0, i)...)
		}
	case "WRITE", "TRUNCATE", "FALLOCATE": // inode, …
		c = Change{Kind: "write", Inode: u(0)}
	case "COPYFILERANGE": // fin, offIn, fout, offOut, size : length
		c = Change{Kind: "write", Inode: u(2)}
	default:
		return Change{}, false
	}
	return c, len(c.Names) > 0 || c.Inode != 0
}
