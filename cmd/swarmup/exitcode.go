package main

import (
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/pkg/api"
)

// exitCode is swarmup's process exit status. Every code swarmup returns is
// listed here and in exitStatusHelp.
type exitCode = exitcode.Code

const (
	// exitOK: the command did what was asked.
	exitOK exitCode = 0
	// exitError: anything else went wrong, including warmupd refusing a request.
	exitError exitCode = 1
	// exitUsage: a bad flag, argument or --format field.
	exitUsage exitCode = 2
	// exitDaemonDown: warmupd is not running, unreachable, or did not answer within the client's response timeout.
	// Also: no MUNGE credential could be made on this host (api.MungeDownError).
	exitDaemonDown exitCode = 3
	// exitNotWarm: `warm --wait` finished but a dataset ended partial, failed, cancelled or evicted.
	exitNotWarm exitCode = 4
	// exitTimeout: `warm --wait --timeout` ran out before every dataset was done.
	exitTimeout exitCode = 5
)

const exitStatusHelp = `
EXIT STATUS
  0  success
  1  error (including warmupd refusing the request; the message says why)
  2  bad flag, argument or --format field
  3  warmupd is not running, its socket or server is not reachable, it did not answer within 5s,
     or this host cannot make a MUNGE credential (munged not running)
  4  warm --wait: some dataset ended partial, failed, cancelled or evicted
  5  warm --wait: --timeout reached before every dataset was done
`

func usageErrorf(format string, a ...any) error { return exitcode.Errorf(exitUsage, format, a...) }

func withCode(code exitCode, err error) error { return exitcode.With(code, err) }

// codeFor maps an error returned by a command to its exit code.
func codeFor(err error) exitCode {
	if err == nil {
		return exitOK
	}
	if c, ok := exitcode.From(err); ok {
		return c
	}
	if api.IsDaemonDown(err) {
		return exitDaemonDown
	}
	return exitError
}
