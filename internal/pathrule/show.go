package pathrule

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// How a path is shown in a message, the same as the SPANK plugin's
// ad_path_show (spank/pathrule.h): a path longer than showMax bytes keeps
// its first showHead and last showTail bytes around "…", cut between
// characters, so the reason after it is never lost in a terminal or a log.
const (
	showMax  = 120
	showHead = 64
	showTail = 48
)

// Show returns p for a message: control characters and bytes that are
// not UTF-8 become \xNN, and a long path is shortened in the middle.
func Show(p string) string {
	if len(p) <= showMax {
		return escapeOdd(p)
	}
	head := showHead
	for k := 0; k < 3 && head > 0 && p[head]&0xc0 == 0x80; k++ {
		head--
	}
	tail := len(p) - showTail
	for k := 0; k < 3 && tail < len(p) && p[tail]&0xc0 == 0x80; k++ {
		tail++
	}
	return escapeOdd(p[:head]) + "…" + escapeOdd(p[tail:])
}

func escapeOdd(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || isControl(r) {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// endsInSpace: juicefs warmup trims the lines of its list file, so a path
// ending in white space cannot be warmed.
func endsInSpace(p string) bool {
	r, _ := utf8.DecodeLastRuneInString(p)
	return unicode.IsSpace(r)
}
