package dedup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// fileMeta is what a replaced file keeps: owner, mode, times, xattrs.
type fileMeta struct {
	st     unix.Stat_t
	xattrs map[string][]byte
}

func readMeta(path string) (*fileMeta, error) {
	m := &fileMeta{xattrs: map[string][]byte{}}
	if err := unix.Lstat(path, &m.st); err != nil {
		return nil, err
	}
	names, err := listXattrs(path)
	if err != nil {
		return nil, fmt.Errorf("list extended attributes: %w", err)
	}
	for _, n := range names {
		v, err := getXattr(path, n)
		if err != nil {
			return nil, fmt.Errorf("read extended attribute %s: %w", n, err)
		}
		m.xattrs[n] = v
	}
	return m, nil
}

// applyTo gives path the owner, mode, extended attributes and times of m.
// Owner first (chown clears set-id bits), times last.
func (m *fileMeta) applyTo(path string) error {
	if err := unix.Lchown(path, int(m.st.Uid), int(m.st.Gid)); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if err := unix.Chmod(path, m.st.Mode&07777); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	have, err := listXattrs(path)
	if err != nil {
		return fmt.Errorf("list extended attributes: %w", err)
	}
	for _, n := range have {
		if _, keep := m.xattrs[n]; !keep {
			if err := unix.Lremovexattr(path, n); err != nil && !errors.Is(err, unix.ENODATA) {
				return fmt.Errorf("remove extended attribute %s: %w", n, err)
			}
		}
	}
	for n, v := range m.xattrs {
		if cur, err := getXattr(path, n); err == nil && bytes.Equal(cur, v) {
			continue
		}
		if err := unix.Lsetxattr(path, n, v, 0); err != nil {
			return fmt.Errorf("set extended attribute %s: %w", n, err)
		}
	}
	ts := []unix.Timespec{m.st.Atim, m.st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

func listXattrs(path string) ([]string, error) {
	for size := 1024; ; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) && size < 1<<24 {
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	for size := 256; ; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) && size < 1<<24 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
