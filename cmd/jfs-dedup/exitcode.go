package main

import (
	"errors"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/pkg/dedup"
)

// exitCode is jfs-dedup's process exit status.
type exitCode = exitcode.Code

const (
	exitOK                  = exitcode.OK
	exitError               = exitcode.Failure
	exitUsage               = exitcode.Usage
	exitNotJuiceFS exitCode = 3
	exitPartial    exitCode = 4
)

// exitStatuses is the one list of jfs-dedup's exit codes; --help's EXIT
// STATUS section is generated from it.
var exitStatuses = []exitcode.Status{
	{Code: exitOK, Meaning: "success (duplicates found or not; skipped files in apply are not failures)"},
	{Code: exitError, Meaning: "error: the run could not be completed (the message says what to do)"},
	{Code: exitUsage, Meaning: "bad flag or argument"},
	{Code: exitNotJuiceFS, Meaning: "apply refused: a file of the report is not on a JuiceFS mount"},
	{Code: exitPartial, Meaning: "finished, but some files could not be read (scan) or replaced (apply)"},
}

// errPartial is returned after the output is written when some files failed.
var errPartial = cmdutil.Silent(exitPartial)

// classify maps the errors of pkg/dedup that carry no code to theirs.
func classify(err error) (exitCode, bool) {
	var nj *dedup.NotJuiceFSError
	if errors.As(err, &nj) {
		return exitNotJuiceFS, true
	}
	return 0, false
}
