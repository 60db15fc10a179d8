// Package pathrule is the one rule for the spelling of a dataset path, the
// same as the SPANK plugin's (spank/pathrule.h): warmupd applies it to every
// request (server.Canonical), swarmup before sending one, and the plugin at
// sbatch, so a path one of them accepts is never refused by another for its
// spelling. Both implementations are tested from spank/testdata/paths.tsv.
package pathrule

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxLen bounds one path, in bytes (PATH_MAX).
const MaxLen = 4096

// Clean checks p, in this order: not empty, at most MaxLen bytes, valid
// UTF-8, no control character, absolute, no '..' component, and not ending
// in white space once cleaned (juicefs warmup trims the lines of its list
// file). It returns the cleaned path ('//', '.' and a trailing '/' dropped),
// or a reason that says what to do.
func Clean(p string) (string, string) {
	switch {
	case p == "":
		return "", "empty path: name a dataset directory or file"
	case len(p) > MaxLen:
		return "", fmt.Sprintf("path is %d bytes, longer than the %d allowed", len(p), MaxLen)
	case !utf8.ValidString(p):
		return "", `path is not valid UTF-8 (bad bytes shown as \xNN): rename it, or name a parent directory`
	case strings.IndexFunc(p, isControl) >= 0:
		return "", `path contains a control character (shown as \xNN): rename it, or name a parent directory`
	case !filepath.IsAbs(p):
		return "", "path is relative: give an absolute path such as /jfs/datasets/imagenet"
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "", "path contains '..': give the dataset's real absolute path"
	}
	clean := filepath.Clean(p)
	if endsInSpace(clean) {
		return "", "path ends in white space, which juicefs warmup cannot read from its list file: rename it"
	}
	return clean, ""
}
