package main

import (
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/pkg/api"
)

// exitCode is swarmup's process exit status.
type exitCode = exitcode.Code

const (
	exitOK                  = exitcode.OK
	exitError               = exitcode.Failure
	exitUsage               = exitcode.Usage
	exitDaemonDown exitCode = 3
	exitNotWarm    exitCode = 4
	exitTimeout    exitCode = 5
)

// exitStatuses is the one list of swarmup's exit codes; --help's EXIT
// STATUS section is generated from it.
var exitStatuses = []exitcode.Status{
	{Code: exitOK, Meaning: "success"},
	{Code: exitError, Meaning: "error (including warmupd refusing the request; the message says why)"},
	{Code: exitUsage, Meaning: "bad flag, argument or --format field"},
	{Code: exitDaemonDown, Meaning: "warmupd is not running, its socket or server is not reachable, it did not answer within 5s,\n" +
		"or this host cannot make a MUNGE credential (munged not running)"},
	{Code: exitNotWarm, Meaning: "warm --wait: some dataset ended " + api.JoinStates(notWarm(), ", ", " or ")},
	{Code: exitTimeout, Meaning: "warm --wait: --timeout reached before every dataset was done"},
}

// classify maps the errors of pkg/api that carry no code to theirs:
// warmupd unreachable, or no MUNGE credential (api.MungeDownError), is 3.
func classify(err error) (exitCode, bool) {
	if api.IsDaemonDown(err) {
		return exitDaemonDown, true
	}
	return 0, false
}

// codeFor maps an error returned by a command to its exit code.
func codeFor(err error) exitCode { return cmdutil.CodeFor(err, classify) }
