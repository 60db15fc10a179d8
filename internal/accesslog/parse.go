package accesslog

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Op is the operation of a line. Ops the agent does not use individually
// are OpOther (Entry.Name has the name).
type Op uint8

// The operations the parser knows by name.
const (
	OpOther     Op = iota
	OpKeepAlive    // "#": JuiceFS writes it after 1 s without lines
	OpLookup
	OpGetattr
	OpOpen
	OpCreate
	OpRead
	OpWrite
	OpFlush
	OpRelease
	OpOpendir
	OpReaddir
	OpReleasedir
)

// opNames is the one list of op names (index = Op).
var opNames = [...]string{"other", "#", "lookup", "getattr", "open", "create", "read", "write", "flush", "release", "opendir", "readdir", "releasedir"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "other"
}

// Entry is one parsed line. Byte slices point into the line given to Parse
// and are valid only until the caller reuses it.
type Entry struct {
	Time          time.Time
	UID, GID, PID uint32
	Op            Op
	Name          []byte // the operation as written ("read", "setattr", …)
	Args          []byte // inside the first parentheses
	Result        []byte // after ": " up to " - " (e.g. "(65536)"); may be empty
	Status        []byte // "OK" or the error
	Dur           time.Duration

	// Typed fields, filled for the ops that carry them (0 otherwise).
	Inode  uint64 // the file's inode; for lookup the inode found
	Parent uint64 // lookup: the directory
	Child  []byte // lookup: the name looked up
	Fh     uint64 // open/create/opendir "[fh:N]"; read/write/flush/release argument
	Size   int64  // read/write: bytes asked
	Offset int64  // read/write: offset
	Bytes  int64  // read: bytes returned
	Length int64  // lookup/getattr/open/create: file length from the attributes
	IsDir  bool   // lookup/getattr: the attributes are a directory's
}

// OK reports whether the operation succeeded.
func (e *Entry) OK() bool { return len(e.Status) == 2 && e.Status[0] == 'O' && e.Status[1] == 'K' }

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("accesslog: not an access-log line")

func bad(what string) error { return fmt.Errorf("%w: %s", ErrSyntax, what) }

// Parser parses lines; its zero value reads timestamps in time.Local (the
// zone the mount writes them in).
type Parser struct {
	Loc *time.Location
}

// Parse fills e from one line (with or without its trailing newline). It
// does not allocate.
func (p *Parser) Parse(line []byte, e *Entry) error {
	*e = Entry{}
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 1 && line[0] == '#' {
		e.Op = OpKeepAlive
		return nil
	}
	// "2006.01.02 15:04:05.000000 " is 27 bytes.
	if len(line) < 27 || line[4] != '.' || line[7] != '.' || line[10] != ' ' || line[13] != ':' || line[16] != ':' || line[19] != '.' || line[26] != ' ' {
		return bad("no timestamp")
	}
	var d [8]int
	spans := [8][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {20, 26}}
	for i := 0; i < 7; i++ {
		v, ok := digits(line[spans[i][0]:spans[i][1]])
		if !ok {
			return bad("bad timestamp")
		}
		d[i] = int(v)
	}
	loc := p.Loc
	if loc == nil {
		loc = time.Local
	}
	e.Time = time.Date(d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], d[6]*1000, loc)
	rest := line[27:]

	// [uid:0,gid:0,pid:21987]
	var ok bool
	var v uint64
	if rest, ok = cutPrefix(rest, "[uid:"); !ok {
		return bad("no [uid:")
	}
	if v, rest, ok = number(rest); !ok {
		return bad("uid")
	}
	e.UID = uint32(v)
	if rest, ok = cutPrefix(rest, ",gid:"); !ok {
		return bad("no gid")
	}
	if v, rest, ok = number(rest); !ok {
		return bad("gid")
	}
	e.GID = uint32(v)
	if rest, ok = cutPrefix(rest, ",pid:"); !ok {
		return bad("no pid")
	}
	if v, rest, ok = number(rest); !ok {
		return bad("pid")
	}
	e.PID = uint32(v)
	if rest, ok = cutPrefix(rest, "] "); !ok {
		return bad("no ] after pid")
	}

	// "<0.000101>" at the end
	lt := bytes.LastIndexByte(rest, '<')
	if lt < 0 || rest[len(rest)-1] != '>' {
		return bad("no <duration>")
	}
	e.Dur = seconds(rest[lt+1 : len(rest)-1])
	body := bytes.TrimRight(rest[:lt], " ")

	sp := bytes.IndexByte(body, ' ')
	if sp <= 0 {
		return bad("no operation")
	}
	e.Name = body[:sp]
	e.Op = lookupOp(e.Name)
	body = body[sp+1:]

	// args: balanced first parentheses (names may hold parentheses; the
	// lookup name is the last field, so match from the closing "):" or ")").
	if len(body) == 0 || body[0] != '(' {
		return bad("no (arguments)")
	}
	// " - STATUS" is the last " - " of the line (1.3+); ≤ 1.1 put the status
	// before the result: "read (…): OK (n)".
	dash := bytes.LastIndex(body, []byte(" - "))
	var head []byte
	if dash >= 0 {
		head, e.Status = body[:dash], body[dash+3:]
	} else {
		head = body
	}
	closeArgs := bytes.Index(head, []byte("): "))
	if closeArgs < 0 {
		closeArgs = bytes.LastIndexByte(head, ')')
		// "open (ino,flags) [fh:N]": the args end at the first ") ["
		if i := bytes.Index(head, []byte(") [")); i >= 0 {
			closeArgs = i
		}
		if closeArgs < 0 {
			return bad("unclosed (arguments)")
		}
		e.Args = head[1:closeArgs]
		tail := head[closeArgs+1:]
		if i := bytes.Index(tail, []byte("[fh:")); i >= 0 {
			e.Fh, _, _ = number(tail[i+4:])
		}
		if dash < 0 {
			return bad("no - STATUS")
		}
	} else {
		e.Args = head[1:closeArgs]
		e.Result = head[closeArgs+3:]
		if dash < 0 { // ≤ 1.1: "): OK (n)"
			st, res, _ := bytes.Cut(e.Result, []byte(" "))
			e.Status, e.Result = st, res
		}
		if i := bytes.Index(e.Result, []byte("[fh:")); i >= 0 {
			e.Fh, _, _ = number(e.Result[i+4:])
		}
	}
	p.typed(e)
	return nil
}

// typed fills the per-op fields from Args and Result.
func (p *Parser) typed(e *Entry) {
	switch e.Op {
	case OpLookup:
		// args "parent,name" (name may contain commas); result "(ino,[attrs])"
		i := bytes.IndexByte(e.Args, ',')
		if i < 0 {
			return
		}
		e.Parent, _, _ = number(e.Args[:i])
		e.Child = e.Args[i+1:]
		p.attrs(e)
	case OpGetattr:
		e.Inode, _, _ = number(e.Args)
		p.attrs(e)
	case OpOpen, OpCreate:
		e.Inode, _, _ = number(e.Args)
		if e.Op == OpCreate { // create (parent,name,mode,umask,flags): (ino,[attrs]) [fh:N]
			e.Inode = 0
			p.attrs(e)
		}
	case OpOpendir, OpReleasedir:
		e.Inode, _, _ = number(e.Args)
	case OpRead, OpWrite:
		// (inode,size,offset[,fh]): (bytes)
		a := e.Args
		var v uint64
		var ok bool
		e.Inode, a, _ = number(a)
		if a, ok = comma(a); !ok {
			return
		}
		v, a, _ = number(a)
		e.Size = int64(v)
		if a, ok = comma(a); !ok {
			return
		}
		v, a, _ = number(a)
		e.Offset = int64(v)
		if a, ok = comma(a); ok {
			e.Fh, _, _ = number(a)
		}
		if e.Op == OpRead && len(e.Result) > 1 && e.Result[0] == '(' {
			v, _, _ = number(e.Result[1:])
			e.Bytes = int64(v)
		}
	case OpFlush, OpRelease:
		// (inode,fh[,owner])
		a := e.Args
		var ok bool
		e.Inode, a, _ = number(a)
		if a, ok = comma(a); ok {
			e.Fh, _, _ = number(a)
		}
	}
}

// attrs reads "(ino,[mode:…,…,length])" from Result.
func (p *Parser) attrs(e *Entry) {
	r := e.Result
	if len(r) < 2 || r[0] != '(' {
		return
	}
	e.Inode, r, _ = number(r[1:])
	lb := bytes.IndexByte(r, '[')
	rb := bytes.IndexByte(r, ']')
	if lb < 0 || rb < lb {
		return
	}
	a := r[lb+1 : rb]
	e.IsDir = len(a) > 0 && a[0] == 'd'
	if c := bytes.LastIndexByte(a, ','); c >= 0 {
		v, _, _ := number(a[c+1:])
		e.Length = int64(v)
	}
}

func lookupOp(name []byte) Op {
	// A switch on string(name) does not allocate.
	switch string(name) {
	case "lookup":
		return OpLookup
	case "getattr":
		return OpGetattr
	case "open":
		return OpOpen
	case "create":
		return OpCreate
	case "read":
		return OpRead
	case "write":
		return OpWrite
	case "flush":
		return OpFlush
	case "release":
		return OpRelease
	case "opendir":
		return OpOpendir
	case "readdir":
		return OpReaddir
	case "releasedir":
		return OpReleasedir
	}
	return OpOther
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return b, false
	}
	return b[len(p):], true
}

func comma(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] != ',' {
		return b, false
	}
	return b[1:], true
}

// number reads leading decimal digits.
func number(b []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, b[i:], i > 0
}

func digits(b []byte) (uint64, bool) {
	v, rest, ok := number(b)
	return v, ok && len(rest) == 0
}

// seconds reads "0.000101" as a duration (microsecond precision).
func seconds(b []byte) time.Duration {
	whole, rest, _ := number(b)
	d := time.Duration(whole) * time.Second
	if len(rest) > 0 && rest[0] == '.' {
		frac := rest[1:]
		scale := time.Second
		for i := 0; i < len(frac) && frac[i] >= '0' && frac[i] <= '9' && i < 9; i++ {
			scale /= 10
			d += time.Duration(frac[i]-'0') * scale
		}
	}
	return d
}
