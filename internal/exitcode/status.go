package exitcode

import (
	"fmt"
	"strings"
)

// Status is one row of a command's exit-status table: a code and what it
// means. The table is the one list of a command's codes; the EXIT STATUS
// section of its --help (and man page) is generated from it with Help.
type Status struct {
	Code Code
	// Meaning is a sentence without a final period; a "\n" starts an
	// indented continuation line.
	Meaning string
}

// Basic are the rows of the codes every command shares, with their plain
// meaning: the whole table of a command with no codes of its own.
var Basic = []Status{
	{Code: OK, Meaning: "success"},
	{Code: Failure, Meaning: "error (the message says why)"},
	{Code: Usage, Meaning: "bad flag or argument"},
}

// Help renders table as the EXIT STATUS section of --help:
//
//	EXIT STATUS
//	  0  success
//	  3  warmupd is not running, …
//	     or this host …
func Help(table []Status) string {
	var b strings.Builder
	b.WriteString("\nEXIT STATUS\n")
	for _, s := range table {
		code := fmt.Sprintf("%d", s.Code)
		for i, line := range strings.Split(s.Meaning, "\n") {
			if i == 0 {
				fmt.Fprintf(&b, "  %s  %s\n", code, strings.TrimSpace(line))
			} else {
				fmt.Fprintf(&b, "  %s  %s\n", strings.Repeat(" ", len(code)), strings.TrimSpace(line))
			}
		}
	}
	return b.String()
}

// CheckTable says what is wrong with an exit-status table: a code listed
// twice, or one of the codes every command shares (0, 1, 2) missing.
func CheckTable(table []Status) error {
	seen := map[Code]bool{}
	for _, s := range table {
		if seen[s.Code] {
			return fmt.Errorf("exit code %d is listed twice", s.Code)
		}
		if strings.TrimSpace(s.Meaning) == "" {
			return fmt.Errorf("exit code %d has no meaning", s.Code)
		}
		seen[s.Code] = true
	}
	for _, c := range []Code{OK, Failure, Usage} {
		if !seen[c] {
			return fmt.Errorf("exit code %d is missing", c)
		}
	}
	return nil
}
