package main

import (
	"errors"

	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/pkg/dedup"
)

// exitCode is jfs-dedup's process exit status; every code is listed here and
// in exitStatusHelp.
type exitCode = exitcode.Code

const (
	// exitOK: the command did what was asked (finding duplicates is success).
	exitOK exitCode = 0
	// exitError: the run could not be completed.
	exitError exitCode = 1
	// exitUsage: a bad flag or argument.
	exitUsage exitCode = 2
	// exitNotJuiceFS: apply refused because a file is not on JuiceFS.
	exitNotJuiceFS exitCode = 3
	// exitPartial: done, but some files could not be read (scan) or replacements failed (apply).
	exitPartial exitCode = 4
)

const exitStatusHelp = `
EXIT STATUS
  0  success (duplicates found or not; skipped files in apply are not failures)
  1  error: the run could not be completed (the message says what to do)
  2  bad flag or argument
  3  apply refused: a file of the report is not on a JuiceFS mount
  4  finished, but some files could not be read (scan) or replaced (apply)
`

func usageErrorf(format string, a ...any) error { return exitcode.Errorf(exitUsage, format, a...) }

// errPartial is returned after the output is written when some files failed.
var errPartial = exitcode.With(exitPartial, errors.New(""))

func codeFor(err error) exitCode {
	if err == nil {
		return exitOK
	}
	if c, ok := exitcode.From(err); ok {
		return c
	}
	var nj *dedup.NotJuiceFSError
	if errors.As(err, &nj) {
		return exitNotJuiceFS
	}
	return exitError
}
