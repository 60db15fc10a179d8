package main

import "github.com/accel-data/accel-data/internal/exitcode"

// exitStatuses is the one list of warmupd's exit codes; the EXIT STATUS
// section of --help is generated from it.
var exitStatuses = []exitcode.Status{
	{Code: exitcode.OK, Meaning: "stopped cleanly (SIGTERM or SIGINT), or --help and --version"},
	{Code: exitcode.Failure, Meaning: "stopped on an error; the last log line says why"},
	{Code: exitcode.Usage, Meaning: "bad flag or configuration file (unknown key, unparsable value); nothing was started"},
}
