package dedup

import (
	"io"
	"io/fs"
	"os"
	"syscall"
)

// FileInfo is what the scanner needs to know about one directory entry.
type FileInfo struct {
	Size  int64
	Mode  fs.FileMode
	Dev   uint64
	Ino   uint64
	Nlink uint64
	UID   uint32
	GID   uint32
	// Mtime and Ctime are nanoseconds since the Unix epoch.
	Mtime int64
	Ctime int64
}

// File is an open file for reading.
type File interface {
	io.Reader
	io.Closer
}

// FS is the file system seam the scanner and the verifier read through.
type FS interface {
	// Lstat describes name without following a final symlink.
	Lstat(name string) (FileInfo, error)
	// ReadDirNames lists the names in directory name (no "." or "..").
	ReadDirNames(name string) ([]string, error)
	// Open opens name for reading.
	Open(name string) (File, error)
}

// LocalFS is the operating system's file system.
type LocalFS struct{}

// Lstat implements FS.
func (LocalFS) Lstat(name string) (FileInfo, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return FileInfo{}, err
	}
	return infoFrom(fi), nil
}

// ReadDirNames implements FS.
func (LocalFS) ReadDirNames(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// Open implements FS.
func (LocalFS) Open(name string) (File, error) {
	return os.Open(name)
}

func infoFrom(fi fs.FileInfo) FileInfo {
	out := FileInfo{Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.Dev = uint64(st.Dev)
		out.Ino = st.Ino
		out.Nlink = uint64(st.Nlink)
		out.UID = st.Uid
		out.GID = st.Gid
		out.Mtime = st.Mtim.Sec*1e9 + st.Mtim.Nsec
		out.Ctime = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return out
}
