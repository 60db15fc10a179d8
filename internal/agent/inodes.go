package agent

import "strings"

// RootInode is the inode of a JuiceFS mount's root directory.
const RootInode = 1

// Inodes maps inodes to names under their parents, learnt from the
// access log's lookup lines, bounded: when full, it forgets the least
// recently used entry (a later read of a forgotten file is resolved with
// juicefs info --inode, or counts as unresolved; see Resolver).
type Inodes struct {
	m *lru[uint64, node]
}

type node struct {
	parent uint64
	name   string
	length int64
	dir    bool
}

// NewInodes keeps at most max inodes.
func NewInodes(max int) *Inodes { return &Inodes{m: newLRU[uint64, node](max)} }

// Learn records that name in parent is ino. name is copied only when new.
func (in *Inodes) Learn(parent, ino uint64, name []byte, length int64, dir bool) {
	if n, ok := in.m.get(ino); ok && n.parent == parent && n.name == string(name) {
		n.length, n.dir = length, dir
		in.m.put(ino, n)
		return
	}
	in.m.put(ino, node{parent: parent, name: string(name), length: length, dir: dir})
}

// LearnPath records ino's whole path relative to the mount (from juicefs
// info; length -1: unknown), as one name under the root.
func (in *Inodes) LearnPath(ino uint64, rel string, length int64) {
	in.m.put(ino, node{parent: RootInode, name: rel, length: length})
}

// SetLength records a file's length (getattr).
func (in *Inodes) SetLength(ino uint64, length int64) {
	if n, ok := in.m.get(ino); ok {
		n.length = length
		in.m.put(ino, n)
	}
}

// Length returns a file's length (-1 when unknown).
func (in *Inodes) Length(ino uint64) int64 {
	if n, ok := in.m.get(ino); ok {
		return n.length
	}
	return -1
}

// Path returns the path of ino relative to the mount ("ds/train/x"), or
// false when some ancestor is unknown.
func (in *Inodes) Path(ino uint64) (string, bool) {
	var parts []string
	for i := 0; ino != RootInode; i++ {
		n, ok := in.m.get(ino)
		if !ok || i > 4096 {
			return "", false
		}
		parts = append(parts, n.name)
		ino = n.parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/"), true
}

// Len is the number of inodes known.
func (in *Inodes) Len() int { return in.m.len() }
