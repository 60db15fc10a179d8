package dedup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DumpOptions tune ScanDump.
type DumpOptions struct {
	Options
	// Mount, when set, is where the dumped volume is mounted: candidates are
	// then read under it and compared byte for byte, and report paths are
	// under it. Without a mount, same-size files with different slices are
	// reported as unverified.
	Mount string
}

// DumpAttr is the part of a dump node's "attr" the scanner uses.
type DumpAttr struct {
	Inode     uint64 `json:"inode"`
	Type      string `json:"type"`
	Mode      uint32 `json:"mode"`
	UID       uint32 `json:"uid"`
	GID       uint32 `json:"gid"`
	Mtime     int64  `json:"mtime"`
	Ctime     int64  `json:"ctime"`
	Mtimensec int64  `json:"mtimensec"`
	Ctimensec int64  `json:"ctimensec"`
	Nlink     uint64 `json:"nlink"`
	Length    int64  `json:"length"`
}

// DumpChunk is one entry of a file's "chunks": its slices in order.
type DumpChunk struct {
	Index  uint64 `json:"index"`
	Slices []struct {
		ID   uint64 `json:"id"`
		Pos  uint32 `json:"pos"`
		Size uint32 `json:"size"`
		Off  uint32 `json:"off"`
		Len  uint32 `json:"len"`
	} `json:"slices"`
}

// sliceKey renders chunks canonically: "index:pos:id:size:off:len" per slice.
func sliceKey(chunks []DumpChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		for _, s := range c.Slices {
			fmt.Fprintf(&b, "%d:%d:%d:%d:%d:%d;", c.Index, s.Pos, s.ID, s.Size, s.Off, s.Len)
		}
	}
	return b.String()
}

// DumpFile is one regular file read from a dump.
type DumpFile struct {
	// Path is the file's path inside the volume, starting with "/".
	Path   string
	Attr   DumpAttr
	Chunks []DumpChunk
}

// ReadDump streams a `juicefs dump` JSON document and calls fn for every
// regular file of its "FSTree", depth first. It holds one file's attributes
// and slice list at a time (plus the directory path), whatever the size of
// the dump.
func ReadDump(r io.Reader, fn func(DumpFile) error) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return dumpErr(err)
	}
	found := false
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return dumpErr(err)
		}
		if key != "FSTree" {
			if err := skipValue(dec); err != nil {
				return dumpErr(err)
			}
			continue
		}
		found = true
		if err := readNode(dec, "/", fn); err != nil {
			return err
		}
	}
	if !found {
		return errors.New("no \"FSTree\" in the dump: is this the output of `juicefs dump META-URL`?")
	}
	return nil
}

func dumpErr(err error) error {
	return fmt.Errorf("read juicefs dump: %w (expected the JSON written by `juicefs dump META-URL`)", err)
}

// readNode reads one node object ("attr", "chunks", "entries", ...).
func readNode(dec *json.Decoder, p string, fn func(DumpFile) error) error {
	if err := expectDelim(dec, '{'); err != nil {
		return dumpErr(fmt.Errorf("%s: %w", p, err))
	}
	f := DumpFile{Path: p}
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return dumpErr(err)
		}
		switch key {
		case "attr":
			err = dec.Decode(&f.Attr)
		case "chunks":
			err = dec.Decode(&f.Chunks)
		case "entries":
			if err = expectDelim(dec, '{'); err != nil {
				break
			}
			for dec.More() && err == nil {
				var name string
				if name, err = objectKey(dec); err == nil {
					err = readNode(dec, path.Join(p, name), fn)
				}
			}
			if err == nil {
				_, err = dec.Token() // '}'
			}
		default:
			err = skipValue(dec)
		}
		if err != nil {
			return dumpErr(fmt.Errorf("%s: %w", p, err))
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return dumpErr(err)
	}
	if f.Attr.Type == "regular" {
		return fn(f)
	}
	return nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("expected %q, got %v", d, t)
	}
	return nil
}

func objectKey(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("expected an object key, got %v", t)
	}
	return k, nil
}

// skipValue consumes one value token by token (constant memory).
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

// ScanDump plans deduplication of a whole volume from a `juicefs dump`
// stream: files are grouped by size, files with equal slice lists are
// reported as shared, and the rest are compared by reading them under
// opts.Mount (or reported as unverified without a mount).
func ScanDump(ctx context.Context, r io.Reader, opts DumpOptions) (*Report, error) {
	root := "/"
	if opts.Mount != "" {
		m, err := filepath.Abs(opts.Mount)
		if err != nil {
			return nil, err
		}
		opts.Mount, root = m, m
	}
	s := newScan(opts.Options, "dump", []string{root})
	defer s.parts.close()
	s.canRead = opts.Mount != ""
	err := ReadDump(r, func(f DumpFile) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Attr.Length == 0 {
			return nil
		}
		p := f.Path
		if opts.Mount != "" {
			p = filepath.Join(opts.Mount, f.Path)
		}
		key := sliceKey(f.Chunks)
		if key == "" {
			key = "inode:" + strconv.FormatUint(f.Attr.Inode, 10)
		}
		return s.add(entry{Dir: s.parts.dirID(filepath.Dir(p)), Name: filepath.Base(p), Slices: key, Info: FileInfo{
			Size: f.Attr.Length, Mode: fs.FileMode(f.Attr.Mode & 0o7777), Ino: f.Attr.Inode, Nlink: f.Attr.Nlink,
			UID: f.Attr.UID, GID: f.Attr.GID,
			Mtime: f.Attr.Mtime*1e9 + f.Attr.Mtimensec, Ctime: f.Attr.Ctime*1e9 + f.Attr.Ctimensec,
		}})
	})
	if err != nil {
		return nil, err
	}
	return s.compare(ctx)
}
