package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// accessLogBuffer is a real client's per-reader buffer of .accesslog lines:
// lines that do not fit are dropped, silently (pkg/vfs/accesslog.go).
const accessLogBuffer = 10240

// accessLog is the FUSE mount's .accesslog: each open of it is a reader with
// its own buffer; every operation is counted (juicefs_fuse_ops_total_<op>
// in .stats) whether or not a reader takes its line, so a reader can detect
// drops by comparing what it saw with the counters, as on a real client.
type accessLog struct {
	mu      sync.Mutex
	readers map[*logReader]bool
	ops     map[string]int64
}

type logReader struct {
	mu     sync.Mutex
	buffer chan []byte
	last   []byte
}

func newAccessLog() *accessLog {
	return &accessLog{readers: map[*logReader]bool{}, ops: map[string]int64{}}
}

// logit formats one line as a real 1.4 client does:
// 2026.12.01 11:35:00.596164 [uid:0,gid:0,pid:21987] lookup (16,x00001): (18,[…]) - OK <0.000308>
// started is when the operation began; err 0 prints OK.
func (a *accessLog) logit(ctx context.Context, started time.Time, method string, err syscall.Errno, format string, args ...any) {
	used := time.Since(started)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ops[method]++
	if len(a.readers) == 0 {
		return
	}
	for i, v := range args { // names a real client would quote
		if s, ok := v.(string); ok && !strconv.CanBackquote(s) {
			args[i] = strings.Trim(strconv.Quote(s), `"`)
		}
	}
	var uid, gid, pid uint32
	if c, ok := fuse.FromContext(ctx); ok {
		uid, gid, pid = c.Uid, c.Gid, c.Pid
	}
	line := []byte(fmt.Sprintf("%s [uid:%d,gid:%d,pid:%d] %s %s - %s <%.6f>\n",
		time.Now().Format("2006.01.02 15:04:05.000000"), uid, gid, pid, method,
		fmt.Sprintf(format, args...), strerr(err), used.Seconds()))
	for r := range a.readers {
		select {
		case r.buffer <- line:
		default: // the reader is behind: the line is dropped
		}
	}
}

func strerr(err syscall.Errno) string {
	if err == 0 {
		return "OK"
	}
	return err.Error()
}

func (a *accessLog) open() *logReader {
	r := &logReader{buffer: make(chan []byte, accessLogBuffer)}
	a.mu.Lock()
	a.readers[r] = true
	a.mu.Unlock()
	return r
}

func (a *accessLog) close(r *logReader) {
	a.mu.Lock()
	delete(a.readers, r)
	a.mu.Unlock()
}

// opsTotals gives juicefs_fuse_ops_total_<method> for .stats.
func (a *accessLog) opsTotals(into map[string]int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for m, n := range a.ops {
		into["juicefs_fuse_ops_total_"+m] = n
	}
}

// read fills buf with whole lines (the rest of a line that did not fit
// comes first next time), waiting at most a second; after a second without
// a line it returns the keep-alive "#\n", as a real client does.
func (r *logReader) read(buf []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	if len(r.last) > 0 {
		n = copy(buf, r.last)
		r.last = r.last[n:]
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for n < len(buf) {
		var line []byte
		if n > 0 {
			select {
			case line = <-r.buffer:
			default:
				return n // return what is there rather than wait to fill buf
			}
		} else {
			select {
			case line = <-r.buffer:
			case <-t.C:
				return copy(buf, "#\n")
			}
		}
		k := copy(buf[n:], line)
		n += k
		if k < len(line) {
			r.last = line[k:]
		}
	}
	return n
}

// entryString is a real client's meta.Entry in the access log:
// " (18,[-rw-r--r--:0100644,1,0,0,1796124035,1796124035,1796124035,65536])"
// (mode string, octal mode, nlink, uid, gid, atime, mtime, ctime, length).
func entryString(ino uint64, a *fuse.Attr) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf(" (%d,[%s:0%06o,%d,%d,%d,%d,%d,%d,%d])", ino, modeString(a.Mode), a.Mode,
		a.Nlink, a.Uid, a.Gid, a.Atime, a.Mtime, a.Ctime, a.Size)
}

// modeString is `ls -l`'s mode column (drwxr-xr-x), as JuiceFS's smode.
func modeString(mode uint32) string {
	t := byte('-')
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		t = 'd'
	case syscall.S_IFLNK:
		t = 'l'
	case syscall.S_IFCHR:
		t = 'c'
	case syscall.S_IFBLK:
		t = 'b'
	case syscall.S_IFIFO:
		t = 'p'
	case syscall.S_IFSOCK:
		t = 's'
	}
	s := []byte{t}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) != 0 {
			s = append(s, rwx[i])
		} else {
			s = append(s, '-')
		}
	}
	if mode&syscall.S_ISUID != 0 {
		s[3] = map[bool]byte{true: 's', false: 'S'}[s[3] == 'x']
	}
	if mode&syscall.S_ISGID != 0 {
		s[6] = map[bool]byte{true: 's', false: 'S'}[s[6] == 'x']
	}
	if mode&syscall.S_ISVTX != 0 {
		s[9] = map[bool]byte{true: 't', false: 'T'}[s[9] == 'x']
	}
	return string(s)
}
