package dedup

import (
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/eintr"
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
	// ReadDir lists directory name (no "." or "..") with each entry's
	// Lstat; an entry that cannot be stat'ed carries its error.
	ReadDir(name string) ([]DirEntry, error)
	// Open opens name for reading.
	Open(name string) (File, error)
}

// LocalFS is the operating system's file system.
type LocalFS struct{}

// Lstat implements FS with one lstat(2) and no allocation.
func (LocalFS) Lstat(name string) (FileInfo, error) {
	var st unix.Stat_t
	if err := eintr.Do(func() error { return unix.Lstat(name, &st) }); err != nil {
		return FileInfo{}, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return infoOf(&st), nil
}

func infoOf(st *unix.Stat_t) FileInfo {
	return FileInfo{
		Size: st.Size, Mode: modeOf(st.Mode), Dev: st.Dev, Ino: st.Ino, Nlink: uint64(st.Nlink),
		UID: st.Uid, GID: st.Gid, Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
	}
}

// modeOf maps st_mode to fs.FileMode (type bits and permissions).
func modeOf(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name string
	Info FileInfo
	Err  error
}

// ReadDir implements FS: the names from getdents, each stat'ed with
// fstatat(2) relative to the open directory, so the kernel resolves one
// component per entry instead of the whole path.
func (LocalFS) ReadDir(name string) ([]DirEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	fd := int(f.Fd())
	out := make([]DirEntry, len(names))
	for i, n := range names {
		out[i].Name = n
		var st unix.Stat_t
		if e := eintr.Do(func() error { return unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW) }); e != nil {
			out[i].Err = &fs.PathError{Op: "lstat", Path: name + "/" + n, Err: e}
		} else {
			out[i].Info = infoOf(&st)
		}
	}
	return out, err
}

// Open implements FS with plain open(2)/read(2)/close(2): regular files
// never block in the poller, so os.File's bookkeeping is skipped.
func (LocalFS) Open(name string) (File, error) {
	fd, err := eintr.Retry(func() (int, error) { return unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0) })
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &rawFile{fd: fd, name: name}, nil
}

type rawFile struct {
	fd   int
	name string
}

func (f *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := eintr.Retry(func() (int, error) { return unix.Read(f.fd, p) })
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (f *rawFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}
